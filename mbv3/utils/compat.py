"""Fixes for defects of mmengine 0.10.7 (its last release) with current
torch and setuptools. Importing :mod:`mbv3` applies them once.

* ``pkg_resources``: setuptools >= 81 no longer ships it, and
  ``mmengine.utils.package_utils`` imports it to resolve ``package::path``
  config references. The functions are re-implemented on
  :mod:`importlib.metadata`.
* Checkpoint loading: mmengine calls ``torch.load`` without
  ``weights_only``; torch >= 2.6 then refuses mmengine's own checkpoints
  (resume fails). Local files are instead read by
  :func:`mbv3.utils.checkpoint.load_checkpoint_file`, which keeps
  ``weights_only=True`` and allows only the few plain types an mmengine
  checkpoint holds, so a third-party file is never fully unpickled.
* Checkpoint writing: mmengine's local file backend opens the destination
  and writes into it, so a crash mid-write leaves a truncated checkpoint
  (or ``last_checkpoint`` pointer). The ``'local'`` backend is replaced by
  one that writes a temporary file and renames it
  (:func:`mbv3.utils.checkpoint.atomic_write`). This is the lowest level
  every local write of ``runner.save_checkpoint`` and ``CheckpointHook``
  goes through, so no hook or runner subclass is needed.
* ``HistoryBuffer.__getstate__`` pickles references to its own methods,
  which only full unpickling can rebuild; its ``__setstate__`` restores
  them anyway, so they are left out of new checkpoints.
"""
import importlib.metadata
import importlib.util
import os.path as osp


def _distribution(package):
    try:
        return importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def is_installed(package: str) -> bool:
    """Whether ``package`` (a distribution or module name) is installed."""
    if _distribution(package) is not None:
        return True
    spec = importlib.util.find_spec(package)
    return spec is not None and spec.origin is not None


def package2module(package: str) -> str:
    """The top-level module of distribution ``package``.

    Raises:
        ValueError: If the distribution has no ``top_level.txt``.
    """
    dist = _distribution(package)
    top_level = dist.read_text('top_level.txt') if dist else None
    if not top_level:
        raise ValueError(f'can not infer the module name of {package}')
    return top_level.split('\n')[0]


def get_installed_path(package: str) -> str:
    """The folder of an installed package, as mmengine's function returns.

    Raises:
        importlib.metadata.PackageNotFoundError: If it is not installed.
    """
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.origin is not None:
        return osp.dirname(spec.origin)
    dist = _distribution(package)
    if dist is None:
        raise importlib.metadata.PackageNotFoundError(package)
    spec = importlib.util.find_spec(package2module(package))
    if spec is None or spec.origin is None:
        raise importlib.metadata.PackageNotFoundError(package)
    return osp.dirname(spec.origin)


def _patch_package_utils():
    import mmengine.config.config as config_module
    import mmengine.utils as utils
    import mmengine.utils.package_utils as package_utils
    for module in (package_utils, utils, config_module):
        for name, fn in (('is_installed', is_installed),
                         ('get_installed_path', get_installed_path),
                         ('package2module', package2module)):
            if hasattr(module, name):
                setattr(module, name, fn)


def _patch_checkpoint_loader():
    from mmengine.runner.checkpoint import CheckpointLoader

    from mbv3.utils.checkpoint import load_checkpoint_file
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_checkpoint_file, force=True)


def _patch_local_backend():
    from mmengine.fileio import register_backend

    from mbv3.utils.checkpoint import AtomicLocalBackend
    register_backend('local', AtomicLocalBackend, force=True,
                     prefixes='')


def _history_buffer_getstate(self) -> dict:
    return {k: v for k, v in self.__dict__.items()
            if k != 'statistics_methods'}


def _patch_history_buffer():
    from mmengine.logging import HistoryBuffer
    HistoryBuffer.__getstate__ = _history_buffer_getstate


_patch_package_utils()
_patch_checkpoint_loader()
_patch_local_backend()
_patch_history_buffer()
