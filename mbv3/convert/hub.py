"""Pretrained weights by name: download, verify, convert and cache on first
use.

A name from :data:`mbv3.convert.weights.WEIGHTS` (or ``mbv3://NAME``, the
form mmengine's checkpoint loader takes, e.g. in ``init_cfg`` and
``load_from``) becomes a converted ``.safetensors`` file with its metadata
in the cache folder:

* ``$MBV3_HOME/downloads/NAME/FILE``: the published file, as downloaded
  (or put there by hand), checked against its sha256;
* ``$MBV3_HOME/sha256/NAME``: for weights published with only an 8-hex
  prefix of their sha256 (in the file name), the full sha256 of the first
  download that matched it (trust on first use); every later download of
  the name must have it;
* ``$MBV3_HOME/weights/NAME.safetensors``: the converted weights, with the
  sha256 of their tensors, checked on every load; a damaged one is
  converted again;
* ``$MBV3_HOME/locks/NAME.lock``: held while a process fetches NAME, so
  that processes asking for it at once (every rank of a ``torchrun`` job)
  wait for the first and then read its file.

``MBV3_HOME`` defaults to ``~/.cache/mbv3``. Once the converted file is
there, nothing touches the network. ``MBV3_WEIGHTS_MIRROR`` (a base URL)
replaces the scheme and host of every published URL, keeping its path:
``https://download.pytorch.org/models/x.pth`` is fetched from
``$MBV3_WEIGHTS_MIRROR/models/x.pth``.
"""
import contextlib
import errno
import hashlib
import http.client
import os
import os.path as osp
import sys
import urllib.error
import urllib.request
import warnings
from typing import Optional
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from mbv3.utils.checkpoint import (TENSORS_SHA256_KEY, CorruptCheckpointError,
                                   atomic_write, load_checkpoint_file,
                                   mount_point, read_safetensors_metadata)
from .converter import convert_checkpoint
from .files import read_metadata, save_converted
from .weights import WEIGHTS, Weights, get_weights

SCHEME = 'mbv3://'
HOME_ENV = 'MBV3_HOME'
MIRROR_ENV = 'MBV3_WEIGHTS_MIRROR'
TIMEOUT_S = 60
_CHUNK = 1 << 16
_MIB = 1 << 20
# how long a process waits silently for another one fetching the same
# name before it says so
_QUIET_WAIT_S = 1.0


class WeightsDownloadError(OSError):
    """A published checkpoint could not be downloaded."""


class CacheFolderError(OSError):
    """The weights cache folder cannot be created or written."""


class WeightsHashError(RuntimeError):
    """A downloaded checkpoint does not have its published sha256."""


def cache_home() -> str:
    """The cache folder: ``$MBV3_HOME``, else ``~/.cache/mbv3``."""
    return os.environ.get(HOME_ENV) or osp.join(
        osp.expanduser('~'), '.cache', 'mbv3')


def make_cache_folder(folder: str) -> str:
    """Create ``folder`` inside the cache (if missing) and check that it
    can be written; return it.

    Raises:
        CacheFolderError: One line naming the folder, why it fails (a
            read-only home, ``MBV3_HOME`` pointing into a file...) and
            ``MBV3_HOME`` as the fix.
    """
    try:
        os.makedirs(folder, exist_ok=True)
        reason = '' if os.access(folder, os.W_OK | os.X_OK) else \
            'it is not writable'
    except OSError as err:
        reason = f'{type(err).__name__}: {err.strerror or err}'
    if reason:
        where = f'{HOME_ENV}={os.environ[HOME_ENV]!r}' \
            if os.environ.get(HOME_ENV) else f'{HOME_ENV} is not set'
        raise CacheFolderError(
            f'cannot create the weights cache folder {folder!r} ({reason}; '
            f'{where}, default ~/.cache/mbv3): set {HOME_ENV} to a '
            'writable folder')
    return folder


def download_path(weights: Weights) -> str:
    """Where the published file of ``weights`` is (to be) stored."""
    return osp.join(cache_home(), 'downloads', weights.name,
                    weights.filename)


def converted_path(weights: Weights) -> str:
    """Where the converted ``.safetensors`` of ``weights`` is cached."""
    return osp.join(cache_home(), 'weights', f'{weights.name}.safetensors')


def pin_path(weights: Weights) -> str:
    """Where the full sha256 of the first verified download of ``weights``
    is recorded (for weights published with a hash prefix only)."""
    return osp.join(cache_home(), 'sha256', weights.name)


def pinned_sha256(weights: Weights) -> Optional[str]:
    """The full sha256 ``weights`` is held to: the published one, else the
    one recorded at its first verified download, else None (not
    downloaded yet)."""
    if len(weights.sha256) == 64:
        return weights.sha256
    path = pin_path(weights)
    if not osp.isfile(path):
        return None
    with open(path, encoding='ascii') as f:
        return f.read().split()[0]


def max_download_bytes(weights: Weights) -> int:
    """The most bytes a download of ``weights`` may take: twice the
    float32 size of an mbv3 ``ImageClassifier`` of its arch (1280 hidden
    units; 11221 classes for ImageNet-21k-P weights, else 1000), room for
    the optimizer momentum a training checkpoint carries, plus 16 MiB of
    metadata and segmentation head. Every published file of the registry
    is smaller where its size is published: torchvision 0.29 gives
    ``_file_size`` 21.1 MiB for mobilenet_v3_large (limit 58 MiB) and
    9.8 MiB for mobilenet_v3_small (limit 38.6 MiB)."""
    import torch

    from mbv3.registry import MODELS
    classes = 11221 if weights.name.endswith('_in21k') else 1000
    with torch.device('meta'):
        model = MODELS.build(dict(
            type='ImageClassifier',
            backbone=dict(type='MobileNetV3', arch=weights.arch),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='StackedLinearClsHead', num_classes=classes,
                      mid_channels=[1280])))
    numel = sum(t.numel() for t in model.state_dict().values())
    return 2 * 4 * numel + 16 * _MIB


def source_url(weights: Weights) -> str:
    """The URL to download from: the published one, or its path under
    ``$MBV3_WEIGHTS_MIRROR``."""
    mirror = os.environ.get(MIRROR_ENV)
    if not mirror:
        return weights.url
    return mirror.rstrip('/') + urlsplit(weights.url).path


def weights_name(checkpoint) -> Optional[str]:
    """The registry name in ``checkpoint`` (``NAME`` or ``mbv3://NAME``),
    or None when it is a path or another URL. A bare name that is also an
    existing path is taken as the path."""
    if not isinstance(checkpoint, str):
        return None
    if checkpoint.startswith(SCHEME):
        return checkpoint[len(SCHEME):]
    if checkpoint in WEIGHTS and not osp.exists(checkpoint):
        return checkpoint
    return None


def resolve_checkpoint(checkpoint, progress: bool = True):
    """A local path for a checkpoint argument: the cached converted file
    for a registry name (:func:`fetch`), else ``checkpoint`` unchanged."""
    name = weights_name(checkpoint)
    return checkpoint if name is None else fetch(name, progress)


def sha256_of(path: str) -> str:
    """The sha256 of a file, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(name: str, progress: bool = True) -> str:
    """The converted, cached file of a published checkpoint.

    First use: download the file (resuming a partial one, with a progress
    bar on stderr), check its sha256, convert it
    (:func:`mbv3.convert.convert_checkpoint`, loading it safely) and write
    ``weights/NAME.safetensors`` with its metadata plus ``url`` and
    ``sha256``. Later uses check that file (the sha256 of its tensors, and
    the download it came from) and return it; a damaged one is converted
    again, from the download when it is still there. Processes fetching the
    same name at once take turns (a lock file per name): the first
    downloads and converts, the others wait and then read its file.

    Args:
        name (str): A key of :data:`~mbv3.convert.weights.WEIGHTS`, or
            ``mbv3://`` and that key.
        progress (bool): Show the download's progress bar.

    Returns:
        str: Path of the converted ``.safetensors``.

    Raises:
        ValueError: For an unknown name, or a file that converts to another
            arch than the registry says.
        WeightsDownloadError: When the download fails, stops early, grows
            past :func:`max_download_bytes`, or finds no space left on the
            disk (the message gives the URL and the path to put the file by
            hand; a partial file is kept and resumed next time).
        WeightsHashError: When the file's sha256 is not the published one,
            or not the one of the name's first verified download (the file
            is deleted; the message names the URL and both hashes).
        mbv3.utils.checkpoint.UnsafeCheckpointError: If the file needs full
            unpickling and is not listed in ``MBV3_TRUSTED_CHECKPOINTS``.
        CacheFolderError: If the cache folders cannot be created or
            written (:func:`make_cache_folder`).
    """
    weights = get_weights(name[len(SCHEME):] if name.startswith(SCHEME)
                          else name)
    out = converted_path(weights)
    with _fetch_lock(weights):
        if osp.isfile(out):
            problem = _cached_problem(weights, out)
            if problem is None:
                return out
            warnings.warn(f'{problem}; converting {weights.name!r} again')
            os.remove(out)
        raw = download_path(weights)
        url = source_url(weights)
        for path in (raw, out):
            make_cache_folder(osp.dirname(path))
        if not osp.isfile(raw):
            _download_or_explain(weights, url, raw, progress)
        digest = _verify(weights, url, raw)
        _convert(weights, raw, digest, out)
    return out


@contextlib.contextmanager
def _fetch_lock(weights):
    """Hold the lock of ``weights``' cache entries; after a second of
    waiting for another process, say so on stderr."""
    path = osp.join(cache_home(), 'locks', f'{weights.name}.lock')
    make_cache_folder(osp.dirname(path))
    lock = FileLock(path)
    try:
        lock.acquire(timeout=_QUIET_WAIT_S)
    except Timeout:
        print(f'waiting for another process fetching {weights.name!r} '
              f'(lock {path})', file=sys.stderr)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _cached_problem(weights, out) -> Optional[str]:
    """Why the converted file ``out`` cannot be used as it is, or None."""
    try:
        header = read_safetensors_metadata(out)
        if TENSORS_SHA256_KEY not in header:
            return f'{out} records no sha256 of its tensors'
        load_checkpoint_file(out, map_location='cpu')
        meta = read_metadata(out)
    except CorruptCheckpointError as err:
        return str(err)
    pinned = pinned_sha256(weights)
    if pinned is not None and meta.get('sha256') != pinned:
        return (f'{out} was converted from a file of sha256 '
                f"{meta.get('sha256')}, not {pinned}")
    return None


def _download_or_explain(weights, url, raw, progress):
    try:
        download(url, raw, progress, max_bytes=max_download_bytes(weights))
    except WeightsDownloadError as err:
        raise WeightsDownloadError(
            f'cannot download weights {weights.name!r} from {url}: {err}. '
            f'Without network access, get that file another way and put '
            f'it at {raw} (mbv3 checks that its sha256 starts with '
            f'{weights.sha256} and uses it); or set {MIRROR_ENV} to a '
            'mirror that serves the same paths') from None


def _verify(weights, url, raw) -> str:
    """The full sha256 of ``raw``, checked against the published hash and,
    for a published prefix, against the name's first verified download
    (recorded at :func:`pin_path` the first time)."""
    digest = sha256_of(raw)
    if not digest.startswith(weights.sha256):
        os.remove(raw)
        raise WeightsHashError(
            f'{raw} (from {url}) has sha256 {digest}, but {weights.name!r} '
            f'is published with sha256 {weights.sha256}'
            f'{"..." if len(weights.sha256) < 64 else ""}; the file was '
            'deleted: it is damaged or not the published one')
    pinned = pinned_sha256(weights)
    if pinned is None:
        atomic_write(f'{digest}  {weights.filename}\n', pin_path(weights),
                     'w', encoding='ascii')
    elif digest != pinned:
        os.remove(raw)
        raise WeightsHashError(
            f'{raw} (from {url}) has sha256 {digest}, but the first '
            f'download of {weights.name!r} had {pinned} (recorded in '
            f'{pin_path(weights)}); both start with the published '
            f'{weights.sha256}, so this one was forged or the source '
            'replaced its file; it was deleted. If you trust the new file, '
            'delete the record and fetch again')
    return digest


def _convert(weights, raw, digest, out):
    checkpoint = load_checkpoint_file(raw, map_location='cpu')
    state_dict, meta = convert_checkpoint(checkpoint, weights.source,
                                          hint=weights.hint)
    if meta['arch'] != weights.arch:
        raise ValueError(f'{raw} holds arch {meta["arch"]!r} weights, but '
                         f'{weights.name!r} is listed as {weights.arch!r}')
    meta.update(weights=weights.name, url=weights.url, sha256=digest)
    try:
        save_converted(out, state_dict, meta)
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        raise OSError(errno.ENOSPC, _no_space(out)) from None


def _no_space(path: str) -> str:
    """``no space left on MOUNT_POINT ...`` for a write to ``path``."""
    folder = osp.dirname(osp.abspath(path))
    return (f'no space left on {mount_point(folder)} (the file system of '
            f'{folder}) to write {osp.basename(path)}; free space there, '
            f'or set '
            f'{HOME_ENV} to a folder on another disk')


def download(url: str, dst: str, progress: bool = True,
             max_bytes: Optional[int] = None) -> None:
    """Download ``url`` to ``dst``, resuming ``dst + '.part'`` if present.

    A partial file is continued with an HTTP ``Range`` request; a server
    that answers with the whole file (200) restarts it, and one that
    rejects the range (416) makes it start over. ``dst`` appears only once
    every byte announced by ``Content-Length`` has arrived. Callers that
    may run at once for the same ``dst`` hold a lock (:func:`fetch` does).

    Args:
        url (str): What to download.
        dst (str): Where to put it.
        progress (bool): Show a progress bar on stderr.
        max_bytes (int, optional): The most the file may have: a larger
            ``Content-Length`` is refused before any byte is written, and a
            transfer without one is stopped (and its partial file deleted)
            once it passes this size.

    Raises:
        WeightsDownloadError: If the server cannot be reached, answers
            with an HTTP error, the transfer stops early (the partial
            file is kept for the next call to resume), the file is larger
            than ``max_bytes``, or the disk is full (``no space left on
            MOUNT_POINT``; the partial file is kept).
    """
    part = dst + '.part'
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    start = osp.getsize(part) if osp.isfile(part) else 0
    headers = {'Range': f'bytes={start}-'} if start else {}
    try:
        response = urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as err:
        if err.code == 416 and start:
            os.remove(part)
            return download(url, dst, progress, max_bytes)
        raise WeightsDownloadError(f'HTTP {err.code} {err.reason}') from None
    except (urllib.error.URLError, OSError) as err:
        raise WeightsDownloadError(
            str(getattr(err, 'reason', err))) from None
    with response:
        if response.status != 206:
            start = 0
        length = response.headers.get('Content-Length')
        total = start + int(length) if length else None
        if total is not None and max_bytes is not None and \
                total > max_bytes:
            raise WeightsDownloadError(
                f'the server announces {total} bytes, more than the '
                f'{max_bytes} bytes these weights can take; nothing was '
                'written')
        _receive(response, part, start, total, progress, max_bytes)
    size = osp.getsize(part)
    if total is not None and size < total:
        raise WeightsDownloadError(
            f'the transfer stopped after {size} of {total} bytes; {part} '
            'is kept and the next attempt resumes it')
    os.replace(part, dst)


def _receive(response, part, start, total, progress, max_bytes):
    from rich.console import Console
    from rich.progress import (BarColumn, DownloadColumn, Progress,
                               TextColumn, TimeRemainingColumn,
                               TransferSpeedColumn)
    columns = (TextColumn(osp.basename(part)[:-len('.part')]), BarColumn(),
               DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    size = start
    try:
        with open(part, 'ab' if start else 'wb') as f, \
                Progress(*columns, console=Console(stderr=True),
                         disable=not progress) as bar:
            task = bar.add_task('download', total=total, completed=start)
            for chunk in iter(lambda: _read(response), b''):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    break
                f.write(chunk)
                bar.update(task, advance=len(chunk))
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        raise WeightsDownloadError(
            f'{_no_space(part)}; {part} is kept and the next attempt '
            'resumes it') from None
    if max_bytes is not None and size > max_bytes:
        os.remove(part)
        unannounced = '' if total else ' (it gave no Content-Length)'
        raise WeightsDownloadError(
            f'the server sent more than {max_bytes} bytes, more than these '
            f'weights can take{unannounced}; the transfer was stopped and '
            'the partial file deleted')


def _read(response) -> bytes:
    """The next chunk of ``response``; a dropped connection ends it like
    the end of the data (the size check after it reports the loss)."""
    try:
        return response.read(_CHUNK)
    except (OSError, http.client.HTTPException):
        return b''


def load_converted(path: str, map_location=None):
    """The state dict and conversion metadata of a converted file."""
    return load_checkpoint_file(path, map_location), read_metadata(path)


def load_by_name(filename: str, map_location=None) -> dict:
    """mmengine checkpoint loader of ``mbv3://NAME``: the converted state
    dict (``backbone.*``, ``head.*``) and its metadata, as
    ``{'state_dict': ..., 'meta': {'mbv3': ...}}``.

    In a distributed run, rank 0 fetches first and the other ranks wait
    for it, then read its cache, as mmengine's ``load_from_http`` does.
    """
    from mmengine.dist import barrier, get_dist_info
    rank, world_size = get_dist_info()
    if rank == 0:
        fetch(filename)
    if world_size > 1:
        barrier()
    state_dict, meta = load_converted(fetch(filename), map_location)
    return dict(state_dict=state_dict, meta=dict(mbv3=meta))
