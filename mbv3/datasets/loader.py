"""Data loader settings sized for the machine: worker processes, pinned
memory and prefetching."""
import os
from typing import Optional

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# Batches each worker keeps ready (torch's default is 2): enough to cover
# a slow image without holding many batches of 224x224 images in memory.
PREFETCH_FACTOR = 4
# More workers than this per device rarely speed up an ImageNet-style
# pipeline and multiply the memory held by persistent workers.
MAX_WORKERS = 8


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS
    has one, e.g. under ``taskset`` or a container's CPU set)."""
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_num_workers(cores: int, cuda_devices: int) -> int:
    """Loader worker processes per training process.

    * With GPUs, the host's cores are shared by one process per device;
      each keeps one core for itself (the loop and the data preprocessor)
      and gives the rest to its loader, up to :data:`MAX_WORKERS`.
    * On CPU the model's own threads use the cores: 0 workers (loading in
      the main process) up to 4 cores, where workers compete with the
      model for the same cores (measured on a 2-core CPU:
      docs/training.md); a quarter of the cores above that.

    Args:
        cores (int): CPU cores available, >= 1.
        cuda_devices (int): CUDA devices visible, >= 0.

    Returns:
        int: ``num_workers``, in ``[0, MAX_WORKERS]``.

    Raises:
        ValueError: For ``cores < 1`` or ``cuda_devices < 0``.
    """
    if cores < 1 or cuda_devices < 0:
        raise ValueError(f'need cores >= 1 and cuda_devices >= 0, got '
                         f'cores={cores}, cuda_devices={cuda_devices}')
    if cuda_devices:
        return max(0, min(MAX_WORKERS, cores // cuda_devices - 1))
    return 0 if cores <= 4 else min(MAX_WORKERS, cores // 4)


def apply_loader_defaults(cfg, cores: Optional[int] = None,
                          cuda_devices: Optional[int] = None) -> None:
    """Fill in what a config's data loaders leave out, in place.

    For each of ``train_dataloader``, ``val_dataloader`` and
    ``test_dataloader`` present in ``cfg``: ``num_workers`` from
    :func:`default_num_workers`; with workers, ``persistent_workers=True``
    (no process start per epoch) and ``prefetch_factor``
    (:data:`PREFETCH_FACTOR`); ``persistent_workers=False`` without them
    (torch refuses True there); ``pin_memory=True`` with a GPU, so that the
    data preprocessor's copy to the device is asynchronous. A value the
    config sets is kept.

    Args:
        cfg (Config | dict): The run's config.
        cores (int, optional): Defaults to :func:`available_cores`.
        cuda_devices (int, optional): Defaults to
            ``torch.cuda.device_count()``.
    """
    if cores is None:
        cores = available_cores()
    if cuda_devices is None:
        import torch
        cuda_devices = torch.cuda.device_count()
    for key in LOADERS:
        loader = cfg.get(key)
        if not loader:
            continue
        loader.setdefault('num_workers',
                          default_num_workers(cores, cuda_devices))
        workers = loader['num_workers'] > 0
        loader.setdefault('persistent_workers', workers)
        if workers:
            loader.setdefault('prefetch_factor', PREFETCH_FACTOR)
        if cuda_devices:
            loader.setdefault('pin_memory', True)
