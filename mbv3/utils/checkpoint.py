"""Loading checkpoint files without running code hidden in them."""
import os
import os.path as osp
import pickle

import numpy as np
import torch


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint needs full unpickling, which mbv3 does not do."""


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
        from safetensors.torch import load_file
        device = map_location if isinstance(map_location, str) else 'cpu'
        return load_file(filename, device=device)
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
