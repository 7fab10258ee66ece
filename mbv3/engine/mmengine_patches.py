"""Every workaround mbv3 needs for mmengine 0.10.7 (its last release), in
one place.

Importing mbv3 changes nothing in mmengine. The fixes that replace
mmengine functions are applied by :func:`apply_mmengine_fixes`, which
mbv3 calls only where it is in charge: its own commands (``mbv3.cli``,
``tools/*.py``), before the config is parsed, and the
:class:`~mbv3.engine.hooks.MMEngineFixesHook` a config may list to opt in
from another library's ``tools/train.py``. Each fix is applied only to the
mmengine versions it fixes (``<= 0.10.7``) and only when its trigger is
present (torch >= 2.6, no ``pkg_resources``).

Process-wide fixes (``apply_mmengine_fixes``):

* ``package_utils``: mmengine's ``is_installed``, ``get_installed_path``
  and ``package2module`` import ``pkg_resources``, which setuptools >= 82
  no longer ships, so ``_base_ = 'mmpretrain::...'`` configs fail to load.
  Upstream: open-mmlab/mmengine#1676 (merged after 0.10.7, unreleased);
  mmcv has the same defect, open-mmlab/mmcv#3325. They are re-implemented
  here on :mod:`importlib.metadata`.
* ``checkpoint_loader``: mmengine's local loader calls ``torch.load``
  without ``weights_only``; torch >= 2.6 then refuses mmengine's own
  checkpoints (its ``HistoryBuffer``), so resuming fails. Upstream:
  open-mmlab/mmengine#1655 (issue), open-mmlab/mmengine#1650 (open PR,
  which passes ``weights_only=False``). Local files are read by
  :func:`mbv3.utils.checkpoint.load_checkpoint_file` instead, which keeps
  ``weights_only=True`` and allows only the plain types such a
  checkpoint holds.
* ``atomic_local_backend``: mmengine's ``LocalBackend.put``/``put_text``
  open the destination and write into it, so a crash mid-write leaves a
  truncated checkpoint or ``last_checkpoint`` (no upstream issue found;
  present in every release up to 0.10.7). The ``'local'`` backend becomes
  :class:`mbv3.utils.checkpoint.AtomicLocalBackend` (temporary file,
  ``fsync``, rename).
* ``last_checkpoint_reader``: mmengine's ``find_latest_checkpoint`` (its
  auto-resume, ``resume=True`` without ``load_from``) takes the path in
  ``last_checkpoint`` as it is; mbv3's ``CheckpointHook`` records it
  relative to the work dir (so a copied work dir resumes from its own
  files), and :func:`mbv3.utils.checkpoint.read_last_checkpoint` reads
  both forms (no upstream issue found).
* ``history_buffer_getstate``: ``HistoryBuffer`` pickles references to its
  own bound methods (``statistics_methods``), which only full unpickling
  can rebuild; its ``__setstate__`` restores them anyway, so new
  checkpoints leave them out (no upstream issue found).

Workarounds that change nothing outside mbv3, kept where they act:

* mmengine 0.10.7's ``AmpOptimWrapper.__init__`` asserts CUDA (or NPU/MLU)
  is present (reported in open-mmlab/mmpretrain#1556): mbv3 registers its
  own :class:`mbv3.engine.optim_wrapper.AmpOptimWrapper` in its scope.
* ``mmengine.dist.init_dist`` calls ``torch.cuda.set_device`` and uses
  nccl, so a CPU-only distributed run fails (no upstream issue found):
  :func:`init_dist_cpu_safe` creates a gloo group first, and
  :func:`cpu_ddp_wrapper_cfg` gives ``MMDistributedDataParallel`` no
  ``device_ids``, which mmengine passes even for CPU modules.
* ``mbv3.apis.train.RUNNER_KEYS`` lists the top-level config keys
  mmengine 0.10.7's Runner reads, for the misspelt-key warning.
"""
import importlib.metadata
import importlib.util
import os
import os.path as osp
import subprocess
from typing import Callable, Dict, List, NamedTuple, Optional

import mmengine
import torch
from mmengine.utils import digit_version

LAST_AFFECTED = '0.10.7'


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


def _history_buffer_getstate(self) -> dict:
    return {k: v for k, v in self.__dict__.items()
            if k != 'statistics_methods'}


# (target, name) -> the original value, for restore_mmengine()
_ORIGINALS: Dict[tuple, tuple] = {}
_MISSING = object()


def _replace(target, name, value) -> None:
    """Set ``target.name`` (or ``target[name]`` for a dict), remembering
    the original the first time."""
    is_dict = isinstance(target, dict)
    old = target.get(name, _MISSING) if is_dict else \
        vars(target).get(name, _MISSING)
    _ORIGINALS.setdefault((id(target), name), (target, name, old))
    if is_dict:
        target[name] = value
    else:
        setattr(target, name, value)


def _fix_package_utils() -> None:
    import mmengine.config.config as config_module
    import mmengine.utils as utils
    import mmengine.utils.package_utils as package_utils
    for module in (package_utils, utils, config_module):
        for name, fn in (('is_installed', is_installed),
                         ('get_installed_path', get_installed_path),
                         ('package2module', package2module)):
            if hasattr(module, name):
                _replace(module, name, fn)


def _fix_checkpoint_loader() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader

    from mbv3.utils.checkpoint import load_checkpoint_file
    _replace(CheckpointLoader._schemes, '', load_checkpoint_file)


def _fix_local_backend() -> None:
    from mmengine.fileio.backends import registry_utils

    from mbv3.utils.checkpoint import AtomicLocalBackend
    _replace(registry_utils.backends, 'local', AtomicLocalBackend)
    _replace(registry_utils.prefix_to_backends, '', AtomicLocalBackend)


def _fix_last_checkpoint_reader() -> None:
    import mmengine.runner as runner_package
    import mmengine.runner.checkpoint as checkpoint_module
    import mmengine.runner.runner as runner_module

    from mbv3.utils.checkpoint import read_last_checkpoint
    for module in (runner_package, checkpoint_module, runner_module):
        _replace(module, 'find_latest_checkpoint', read_last_checkpoint)


def _fix_history_buffer() -> None:
    from mmengine.logging import HistoryBuffer
    _replace(HistoryBuffer, '__getstate__', _history_buffer_getstate)


def _pkg_resources_missing() -> bool:
    return importlib.util.find_spec('pkg_resources') is None


def _torch_loads_weights_only() -> bool:
    return digit_version(torch.__version__) >= digit_version('2.6.0')


class Fix(NamedTuple):
    """One process-wide fix: applied when mmengine <= ``LAST_AFFECTED``
    and ``needed()`` is true."""
    name: str
    apply: Callable[[], None]
    needed: Callable[[], bool]


FIXES = (
    Fix('package_utils', _fix_package_utils, _pkg_resources_missing),
    Fix('checkpoint_loader', _fix_checkpoint_loader,
        _torch_loads_weights_only),
    Fix('atomic_local_backend', _fix_local_backend, lambda: True),
    Fix('last_checkpoint_reader', _fix_last_checkpoint_reader,
        lambda: True),
    Fix('history_buffer_getstate', _fix_history_buffer, lambda: True),
)


def mmengine_is_affected(version: Optional[str] = None) -> bool:
    """Whether mmengine ``version`` (default: the installed one) has the
    defects :data:`FIXES` mend (every release up to 0.10.7)."""
    version = mmengine.__version__ if version is None else version
    return digit_version(version) <= digit_version(LAST_AFFECTED)


def apply_mmengine_fixes() -> List[str]:
    """Apply the fixes the installed mmengine and torch need; idempotent.

    Called by mbv3's commands before they parse a config, and by
    :class:`~mbv3.engine.hooks.MMEngineFixesHook`. The changes are
    process-wide; :func:`restore_mmengine` undoes them.

    Returns:
        list[str]: The names of the fixes applied (see :data:`FIXES`).
    """
    if not mmengine_is_affected():
        return []
    applied = []
    for fix in FIXES:
        if fix.needed():
            fix.apply()
            applied.append(fix.name)
    return applied


def restore_mmengine() -> None:
    """Put back every mmengine function and entry the fixes replaced."""
    for target, name, old in _ORIGINALS.values():
        if isinstance(target, dict):
            target[name] = old
        elif old is _MISSING:
            delattr(target, name)
        else:
            setattr(target, name, old)
    _ORIGINALS.clear()


def init_dist_cpu_safe(launcher: str) -> None:
    """Initialise torch.distributed with gloo when CUDA is absent.

    mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device``, so on
    a CPU-only machine the process group is created here, before the
    Runner, which then skips its own initialisation. With CUDA this does
    nothing and mmengine initialises nccl as usual.

    Args:
        launcher (str): 'none', 'pytorch' (torchrun sets RANK, WORLD_SIZE,
            MASTER_ADDR, MASTER_PORT) or 'slurm' (read from SLURM_PROCID,
            SLURM_NTASKS, SLURM_LOCALID; the master is the first host of
            SLURM_NODELIST, port MASTER_PORT or 29500, as mmengine does).
    """
    import torch.distributed as dist
    if launcher == 'none' or dist.is_initialized() or \
            torch.cuda.is_available():
        return
    if launcher == 'slurm':
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ.setdefault('LOCAL_RANK',
                              os.environ.get('SLURM_LOCALID', '0'))
        os.environ.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in os.environ:
            os.environ['MASTER_ADDR'] = subprocess.run(
                ['scontrol', 'show', 'hostnames',
                 os.environ['SLURM_NODELIST']], capture_output=True,
                text=True, check=True).stdout.split()[0]
    dist.init_process_group(backend='gloo')


def cpu_ddp_wrapper_cfg(cfg) -> None:
    """Without CUDA, make a distributed config's ``model_wrapper_cfg`` a
    ``MMDistributedDataParallel`` with ``device_ids=None`` (DDP on CPU
    modules takes none; mmengine 0.10.7 passes the local rank). Keys the
    config sets itself win."""
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    wrapper = dict(type='MMDistributedDataParallel', device_ids=None,
                   broadcast_buffers=False)
    wrapper.update(cfg.get('model_wrapper_cfg') or {})
    cfg.model_wrapper_cfg = wrapper
