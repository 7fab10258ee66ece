"""Random draws that depend only on the position in training, so a resumed
run repeats an uninterrupted one exactly."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mbv3.registry import HOOKS

# Independent streams of the derived seeds.
_LOADER, _BATCH, _STEP = 0, 1, 2


def seed_everything(seed: int, stream: int, position: int) -> int:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and
    CUDA) from ``(seed, stream, position)`` through NumPy's
    ``SeedSequence``, so nearby positions get unrelated states.

    Returns:
        int: The derived 32-bit seed.
    """
    derived = int(np.random.SeedSequence(
        [seed % 2**32, stream, position]).generate_state(1)[0])
    random.seed(derived)
    np.random.seed(derived)
    torch.manual_seed(derived)
    return derived


class _SeededBatches:
    """A train data loader whose every batch is loaded right after seeding
    with its global iteration number; the first ``skip`` batches of the
    next pass are loaded and dropped (a resume inside an epoch)."""

    def __init__(self, loader, runner):
        self.loader = loader
        self.runner = runner
        self.skip = 0

    def __len__(self):
        return len(self.loader)

    def __getattr__(self, name):
        return getattr(self.loader, name)

    def __iter__(self):
        seed, first = self.runner.seed, self.runner.epoch * len(self.loader)
        skip, self.skip = self.skip, 0
        seed_everything(seed, _LOADER, first)
        batches = iter(self.loader)
        for i in range(len(self.loader)):
            seed_everything(seed, _BATCH, first + i)
            batch = next(batches)
            if i >= skip:
                yield batch


@HOOKS.register_module()
class DeterministicResumeHook(Hook):
    """Make every random draw of training a function of the run's seed and
    the iteration, so that resuming from a checkpoint reproduces the
    uninterrupted run bit for bit (with ``randomness.deterministic=True``
    and a fixed seed).

    mmengine seeds the generators once at start-up and does not save their
    states in checkpoints, and its ``DefaultSampler`` only fixes the data
    order (``seed + epoch``). A resumed run therefore draws different
    crops (``RandomResizedCrop`` uses Python's ``random``) and dropout
    masks. This hook reseeds Python, NumPy and torch:

    * before loading the batch of global iteration ``i`` (the train loader
      of an ``EpochBasedTrainLoop`` is wrapped), with ``(seed, i)``;
    * before each train step, with ``(seed, i)`` on another stream (dropout,
      stochastic depth).

    A checkpoint saved inside an epoch (``SignalCheckpointHook``) resumes at
    its iteration: the epoch's batches before it are loaded and dropped, so
    the data order stays the sampler's.

    Limits: with ``num_workers > 0`` the workers' generators are seeded by
    mmengine's ``worker_init_fn``, not here, and prefetching loads batches
    early, so augmentation is reproducible only with ``num_workers=0``. An
    ``IterBasedTrainLoop`` gets the per-step seeding only.
    """

    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner) -> None:
        loop = runner.train_loop
        if not isinstance(loop, EpochBasedTrainLoop):
            return
        if not isinstance(loop.dataloader, _SeededBatches):
            loop.dataloader = _SeededBatches(loop.dataloader, runner)
        loop.dataloader.skip = max(
            0, runner.iter - runner.epoch * len(loop.dataloader))

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        seed_everything(runner.seed, _STEP, runner.iter)
