"""Loading checkpoint files without running code hidden in them, and
writing them so that a crash never leaves a truncated one."""
import glob
import os
import os.path as osp
import pickle
import tempfile
import zipfile

import numpy as np
import torch
from mmengine.fileio import LocalBackend


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


def _mmengine_checkpoint_globals():
    """Types an mmengine checkpoint holds besides tensors and containers:
    the message hub's ``HistoryBuffer`` and the numpy arrays and scalars in
    it. Constructing them runs no code from the file."""
    from mmengine.logging import HistoryBuffer
    multiarray = np._core.multiarray if hasattr(np, '_core') else \
        np.core.multiarray
    allowed = [HistoryBuffer, np.ndarray, np.dtype, multiarray._reconstruct,
               multiarray.scalar]
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
    files. ``.safetensors`` files are read with safetensors and returned as
    a state dict.

    Args:
        filename (str | os.PathLike): Path of the file.
        map_location: As for :func:`torch.load`.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: If the file does not exist.
        CorruptCheckpointError: If the file is empty, truncated or damaged
            (one line: the file, its size and what is wrong).
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
    check_intact(filename)
    if _is_trusted(filename):
        return torch.load(filename, map_location=map_location,
                          weights_only=False)
    with torch.serialization.safe_globals(_mmengine_checkpoint_globals()):
        try:
            return torch.load(filename, map_location=map_location,
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


def _load_safetensors(filename: str, map_location) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    device = map_location if isinstance(map_location, str) else 'cpu'
    try:
        return load_file(filename, device=device)
    except SafetensorError as err:
        raise CorruptCheckpointError(
            f'checkpoint {filename!r} is damaged: {_first_line(err)}') \
            from None


def atomic_write(data, filepath, mode: str = 'wb',
                 encoding: str = None) -> None:
    """Write ``data`` to ``filepath`` atomically.

    The bytes go to a temporary file in the same folder, which is flushed,
    ``fsync``-ed, then renamed over ``filepath`` (``os.replace``, atomic on
    POSIX and Windows within one file system). A crash at any point leaves
    either the old file or the new one, never a truncated one; an
    interrupted write leaves at most a ``.<name>.*.tmp`` file, which is
    removed when the write fails inside Python.

    Args:
        data (bytes | str): What to write.
        filepath (str | os.PathLike): Destination; its folder is created.
        mode (str): 'wb' for bytes or 'w' for text.
        encoding (str, optional): Text encoding for mode 'w'.
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
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _umask() -> int:
    """The process umask (reading it means setting it, so it is reset)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def find_intact_checkpoint(work_dir: str):
    """The newest checkpoint of a run that loads, for auto-resume.

    Candidates are the file named in ``work_dir/last_checkpoint`` (what
    mmengine's ``CheckpointHook`` records), then every ``*.pth`` in
    ``work_dir``, newest modification time first. Each is checked with the
    same integrity test as :func:`load_checkpoint_file`.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        tuple[str | None, list[str]]: The checkpoint to resume (None if no
        intact one exists) and one line per damaged candidate skipped.
    """
    candidates = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer, encoding='utf-8') as f:
            recorded = f.read().strip()
        if recorded:
            candidates.append(recorded)
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
