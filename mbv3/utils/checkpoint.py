"""Loading checkpoint files without running code hidden in them, and
writing them so that a crash never leaves a truncated one."""
import errno
import glob
import hashlib
import os
import os.path as osp
import pickle
import tempfile
import zipfile

import numpy as np
import torch
from mmengine.fileio import LocalBackend

from .deployment_files import check_not_deployment_file


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint needs full unpickling, which mbv3 does not do."""


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file is empty, truncated or damaged."""


# torch.save writes a zip archive (torch >= 1.6); older files are a bare
# pickle, which starts with the PROTO opcode.
# The checkpoint files mbv3 reads: torch pickles (.pth, .pt, .bin) and
# safetensors.
CHECKPOINT_EXTENSIONS = ('.pth', '.pt', '.bin', '.safetensors')
_PICKLE_PROTO = 0x80


# safetensors metadata key of the sha256 over a converted file's tensors
# (see tensors_sha256)
TENSORS_SHA256_KEY = 'mbv3_tensors_sha256'
_HISTORY_BUFFER = 'mmengine.logging.history_buffer.HistoryBuffer'


class _HistoryBufferState:
    """What the unpickler builds in place of mmengine's ``HistoryBuffer``:
    the pickled state, kept as data. ``HistoryBuffer.__setstate__`` would
    merge the file's ``statistics_methods`` into the dict every buffer of
    the process shares; :func:`_rebuild_history_buffers` makes real
    buffers from the plain fields instead."""

    def __setstate__(self, state):
        self.state = state


def _history_buffer(state, filename):
    """A ``HistoryBuffer`` built by its constructor from a pickled state's
    log and count arrays and ``max_length``; anything else is dropped."""
    from mmengine.logging import HistoryBuffer
    fields = state if isinstance(state, dict) else {}
    log, count = fields.get('_log_history'), fields.get('_count_history')
    max_length = fields.get('max_length')
    if not (isinstance(log, np.ndarray) and isinstance(count, np.ndarray)
            and log.ndim == count.ndim == 1 and len(log) == len(count)
            and type(max_length) is int and max_length > 0):
        raise CorruptCheckpointError(
            f'checkpoint {filename!r} is damaged: a HistoryBuffer in it '
            'does not hold two 1-D arrays of equal length and an int '
            'max_length')
    return HistoryBuffer(log.tolist(), count.tolist(), max_length)


def _rebuild_history_buffers(obj, filename, seen=None):
    """``obj`` with every :class:`_HistoryBufferState` in its dicts, lists
    and tuples replaced by a ``HistoryBuffer`` (:func:`_history_buffer`)."""
    seen = set() if seen is None else seen
    if isinstance(obj, _HistoryBufferState):
        return _history_buffer(obj.state, filename)
    if id(obj) in seen or not isinstance(obj, (dict, list, tuple)):
        return obj
    seen.add(id(obj))
    if isinstance(obj, tuple):
        return type(obj)(_rebuild_history_buffers(v, filename, seen)
                         for v in obj)
    keys = obj.keys() if isinstance(obj, dict) else range(len(obj))
    for key in keys:
        obj[key] = _rebuild_history_buffers(obj[key], filename, seen)
    return obj


def _mmengine_checkpoint_globals():
    """Types an mmengine checkpoint holds besides tensors and containers:
    the message hub's ``HistoryBuffer`` (read as data,
    :class:`_HistoryBufferState`) and the numpy arrays and scalars in it.
    Constructing them runs no code from the file and changes no state
    outside the objects read."""
    multiarray = np._core.multiarray if hasattr(np, '_core') else \
        np.core.multiarray
    allowed = [(_HistoryBufferState, _HISTORY_BUFFER), np.ndarray, np.dtype,
               multiarray._reconstruct, multiarray.scalar]
    allowed += [type(np.dtype(t)) for t in
                ('float16', 'float32', 'float64', 'int32', 'int64', 'bool',
                 'uint8', 'int8', 'int16', 'uint16', 'uint32', 'uint64')]
    return allowed


def _first_line(err) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _is_trusted(filename: str) -> bool:
    trusted = os.environ.get('MBV3_TRUSTED_CHECKPOINTS', '')
    real = osp.realpath(filename)
    return any(osp.realpath(p) == real for p in trusted.split(os.pathsep)
               if p)


def check_intact(filename: str) -> None:
    """Raise :class:`CorruptCheckpointError` unless ``filename`` is a whole
    checkpoint: not empty, a readable zip archive whose members all match
    their CRC-32, or a legacy (pre-zip) pickle."""
    size = osp.getsize(filename)
    if size == 0:
        raise CorruptCheckpointError(
            f'checkpoint {filename!r} is empty (0 bytes); it was probably '
            'cut off while being written')
    if not zipfile.is_zipfile(filename):
        with open(filename, 'rb') as f:
            first = f.read(1)
        if first and first[0] == _PICKLE_PROTO:
            return
        raise CorruptCheckpointError(
            f'checkpoint {filename!r} ({size} bytes) is truncated or not a '
            'PyTorch checkpoint: it is neither a zip archive (torch.save) '
            'nor a pickle')
    try:
        with zipfile.ZipFile(filename) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise CorruptCheckpointError(
            f'checkpoint {filename!r} ({size} bytes) is damaged: '
            f'{_first_line(err)}') from None
    if bad is not None:
        raise CorruptCheckpointError(
            f'checkpoint {filename!r} ({size} bytes) is damaged: member '
            f'{bad!r} fails its CRC-32 check')


def load_checkpoint_file(filename, map_location=None):
    """Read a ``.pth``/``.pt``/``.bin`` or ``.safetensors`` file safely.

    Pickled files are read with ``torch.load(weights_only=True)``, allowing
    only tensors, containers, and the plain types mmengine's own checkpoints
    hold (its ``HistoryBuffer``, numpy arrays and scalars). This keeps
    mmengine's resume working on torch >= 2.6 without trusting third-party
    files. A ``HistoryBuffer`` is rebuilt by its constructor from its log
    and count arrays: the statistics methods a file may carry never reach
    the class-level table every buffer shares. ``.safetensors`` files are
    read with safetensors and returned as a state dict; one that records
    the sha256 of its tensors (:data:`TENSORS_SHA256_KEY`, as
    :func:`mbv3.convert.save_converted` writes) is checked against it.

    Args:
        filename (str | os.PathLike): Path of the file.
        map_location: As for :func:`torch.load`.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: If the file does not exist.
        DeploymentFileError: If it is an exported model (ONNX, OpenVINO,
            TorchScript, torch.export, ExecuTorch), named in one line.
        CorruptCheckpointError: If the file is empty, truncated or damaged,
            or its tensors do not match their recorded sha256 (one line:
            the file, what is wrong and the remedy).
        UnsafeCheckpointError: If the file needs full unpickling (it holds
            other Python objects, possibly code). The message says how to
            opt in for a file you trust: list it in the environment
            variable ``MBV3_TRUSTED_CHECKPOINTS`` (paths separated by
            ``os.pathsep``), and only that file is fully unpickled.
    """
    filename = os.fspath(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} does not exist')
    if filename.endswith('.safetensors'):
        return _load_safetensors(filename, map_location)
    check_not_deployment_file(filename)
    check_intact(filename)
    if _is_trusted(filename):
        return torch.load(filename, map_location=map_location,
                          weights_only=False)
    with torch.serialization.safe_globals(_mmengine_checkpoint_globals()):
        try:
            checkpoint = torch.load(filename, map_location=map_location,
                                    weights_only=True)
        except pickle.UnpicklingError as err:
            raise UnsafeCheckpointError(
                f'refusing to load {filename!r}: it holds Python objects '
                'that only full unpickling can build, and unpickling can '
                'run arbitrary code. If you trust the file, add its path to '
                'the environment variable MBV3_TRUSTED_CHECKPOINTS. Detail: '
                f'{_first_line(err)}') from None
        except (RuntimeError, EOFError, ValueError) as err:
            raise CorruptCheckpointError(
                f'checkpoint {filename!r} is damaged: torch.load failed '
                f'with {_first_line(err)}') from None
    return _rebuild_history_buffers(checkpoint, filename)


def tensors_sha256(state_dict: dict) -> str:
    """The sha256 of a state dict's tensors: each name, dtype, shape and
    raw bytes, in name order.

    Args:
        state_dict (dict): Name -> tensor.

    Returns:
        str: 64 hex digits.
    """
    digest = hashlib.sha256()
    for key in sorted(state_dict):
        tensor = state_dict[key].detach().cpu().contiguous()
        digest.update(f'{key}|{tensor.dtype}|{tuple(tensor.shape)}|'
                      .encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def read_safetensors_metadata(filename: str) -> dict:
    """The metadata of a ``.safetensors`` file (its header only).

    Raises:
        CorruptCheckpointError: If the header cannot be read (an empty,
            truncated or damaged file).
    """
    from safetensors import SafetensorError, safe_open
    try:
        with safe_open(filename, framework='pt') as f:
            return f.metadata() or {}
    except (SafetensorError, OSError) as err:
        raise _damaged_safetensors(filename, _first_line(err)) from None


def _damaged_safetensors(filename, what) -> CorruptCheckpointError:
    return CorruptCheckpointError(
        f'checkpoint {filename!r} ({osp.getsize(filename)} bytes) is '
        f'damaged: {what}; delete it and write it again (a converted file: '
        'tools/convert_checkpoint.py; published weights: tools/weights.py '
        'fetch NAME, which converts them again)')


def _load_safetensors(filename: str, map_location) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    device = map_location if isinstance(map_location, str) else 'cpu'
    recorded = read_safetensors_metadata(filename).get(TENSORS_SHA256_KEY)
    try:
        state_dict = load_file(filename, device=device)
    except SafetensorError as err:
        raise _damaged_safetensors(filename, _first_line(err)) from None
    if recorded is not None and tensors_sha256(state_dict) != recorded:
        raise _damaged_safetensors(
            filename, 'its tensors do not have the sha256 recorded when it '
            'was written')
    return state_dict


def atomic_write(data, filepath, mode: str = 'wb',
                 encoding: str = None) -> None:
    """Write ``data`` to ``filepath`` atomically.

    The bytes go to a temporary file in the same folder, which is flushed,
    ``fsync``-ed, then renamed over ``filepath`` (``os.replace``, atomic on
    POSIX and Windows within one file system). A crash at any point leaves
    either the old file or the new one, never a truncated one; an
    interrupted write leaves at most a ``.<name>.*.tmp`` file, which is
    removed when the write fails inside Python, or, after a kill, by
    :func:`remove_orphan_tmp_files` when the next run starts.

    Args:
        data (bytes | str): What to write.
        filepath (str | os.PathLike): Destination; its folder is created.
        mode (str): 'wb' for bytes or 'w' for text.
        encoding (str, optional): Text encoding for mode 'w'.

    Raises:
        OSError: If the write fails; a full disk (``ENOSPC``) says "no
            space left on <mount point>" and names ``filepath``.
    """
    filepath = os.fspath(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.',
                               suffix='.tmp', dir=folder)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, mode, encoding=encoding) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException as err:
        if osp.exists(tmp):
            os.remove(tmp)
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            raise OSError(errno.ENOSPC, f'no space left on '
                          f'{mount_point(folder)} while writing '
                          f'{filepath!r}; {filepath!r} was left as it '
                          'was') from None
        raise


def mount_point(path: str) -> str:
    """The mount point of the file system that holds ``path`` (a path, in
    the words of the "no space left on ..." errors)."""
    path = osp.realpath(path)
    while not osp.ismount(path):
        path = osp.dirname(path)
    return path


def remove_orphan_tmp_files(folder: str) -> list:
    """Remove the temporary files :func:`atomic_write` leaves in
    ``folder`` when its process is killed mid-write
    (``.<name>.<random>.tmp``, each as big as the file being written).

    Call it only when no other process writes to ``folder`` (a run holds
    its work dir: :func:`mbv3.engine.work_dir.claim_work_dir`).

    Args:
        folder (str): A run's work dir; missing is fine.

    Returns:
        list[str]: The paths removed.
    """
    removed = []
    for path in glob.glob(osp.join(glob.escape(folder), '.*.tmp')):
        if osp.isfile(path) and not osp.islink(path):
            os.remove(path)
            removed.append(path)
    return sorted(removed)


def _umask() -> int:
    """The process umask (reading it means setting it, so it is reset)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


LAST_CHECKPOINT = 'last_checkpoint'


def write_last_checkpoint(work_dir: str, checkpoint: str) -> None:
    """Record ``checkpoint`` in ``work_dir/last_checkpoint``, atomically
    (:func:`atomic_write`), as a path relative to ``work_dir`` when it lies
    inside it, so that a copied or moved work dir resumes from its own
    files (fvcore's ``Checkpointer`` records the file name the same way).

    Args:
        work_dir (str): The run's work dir.
        checkpoint (str): The checkpoint just saved.
    """
    relative = osp.relpath(osp.abspath(checkpoint), osp.abspath(work_dir))
    recorded = checkpoint if relative.startswith(os.pardir) else relative
    atomic_write(recorded, osp.join(work_dir, LAST_CHECKPOINT), 'w',
                 encoding='utf-8')


def read_last_checkpoint(work_dir: str):
    """The checkpoint named in ``work_dir/last_checkpoint``.

    A relative path (what :func:`write_last_checkpoint` records) is joined
    to ``work_dir``. An absolute one (what mmengine's ``CheckpointHook``
    records) is taken as it is, unless it lies outside ``work_dir`` and
    ``work_dir`` holds a file of the same name: a work dir copied from
    another one then resumes from its own copy, not from the original's.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        str | None: The path, or None when the file is missing or empty.
    """
    pointer = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(pointer):
        return None
    with open(pointer, encoding='utf-8') as f:
        recorded = f.read().strip()
    if not recorded:
        return None
    if not osp.isabs(recorded):
        return osp.join(work_dir, recorded)
    own = osp.join(work_dir, osp.basename(recorded))
    inside = not osp.relpath(recorded, osp.abspath(work_dir)).startswith(
        os.pardir)
    return own if not inside and osp.isfile(own) else recorded


def find_intact_checkpoint(work_dir: str):
    """The newest checkpoint of a run that loads, for auto-resume.

    Candidates are the file named in ``work_dir/last_checkpoint``
    (:func:`read_last_checkpoint`), then every ``*.pth`` in ``work_dir``,
    newest modification time first. Each is checked with the same
    integrity test as :func:`load_checkpoint_file`.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        tuple[str | None, list[str]]: The checkpoint to resume (None if no
        intact one exists) and one line per damaged candidate skipped.
    """
    recorded = read_last_checkpoint(work_dir)
    candidates = [recorded] if recorded else []
    candidates += sorted(glob.glob(osp.join(work_dir, '*.pth')),
                         key=osp.getmtime, reverse=True)
    skipped, seen = [], set()
    for path in candidates:
        real = osp.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        if not osp.isfile(path):
            skipped.append(f'checkpoint {path!r} does not exist')
            continue
        try:
            check_intact(path)
        except CorruptCheckpointError as err:
            skipped.append(str(err))
            continue
        return path, skipped
    return None, skipped


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with atomic ``put``/``put_text``
    (:func:`atomic_write`). ``runner.save_checkpoint`` serialises a
    checkpoint in memory and hands the bytes to ``put``, and
    ``CheckpointHook`` records ``last_checkpoint`` with ``put_text``, so both
    the checkpoint and the pointer to it are replaced whole."""

    def put(self, obj: bytes, filepath) -> None:
        atomic_write(obj, filepath, 'wb')

    def put_text(self, obj: str, filepath, encoding='utf-8') -> None:
        atomic_write(obj, filepath, 'w', encoding=encoding)
