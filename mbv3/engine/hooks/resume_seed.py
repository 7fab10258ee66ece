"""Random draws that depend only on the position in training, so a resumed
run repeats an uninterrupted one exactly."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mbv3.registry import HOOKS

# Independent streams of the derived seeds.
_LOADER = 0


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


def rng_state() -> dict:
    """The states of Python's ``random``, NumPy's global generator and
    torch's CPU and CUDA generators, as plain types and tensors (a
    checkpoint loads them with ``weights_only=True``)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = dict(python=random.getstate(),
                 numpy=dict(kind=kind, keys=torch.from_numpy(
                     keys.astype(np.int64)), pos=int(pos),
                            has_gauss=int(has_gauss), gauss=float(gauss)),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    numpy = state['numpy']
    np.random.set_state((numpy['kind'], numpy['keys'].numpy().astype(
        np.uint32), numpy['pos'], numpy['has_gauss'], numpy['gauss']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


class _SeededBatches:
    """A train data loader whose every pass starts right after seeding
    with the epoch's first global iteration; the first ``skip`` batches of
    the next pass are loaded and dropped (a resume inside an epoch), then
    the generators are set to ``resume_state``, those of the saved run
    at that iteration."""

    def __init__(self, loader, runner):
        self.loader = loader
        self.runner = runner
        self.skip = 0
        self.resume_state = None

    def __len__(self):
        return len(self.loader)

    def __getattr__(self, name):
        return getattr(self.loader, name)

    def __iter__(self):
        seed, first = self.runner.seed, self.runner.epoch * len(self.loader)
        skip, self.skip = self.skip, 0
        state, self.resume_state = self.resume_state, None
        seed_everything(seed, _LOADER, first)
        batches = iter(self.loader)
        for _ in range(skip):
            next(batches)
        if skip and state is not None:
            set_rng_state(state)
        yield from batches


@HOOKS.register_module()
class DeterministicResumeHook(Hook):
    """Make every random draw of training a function of the run's seed and
    its position, so that resuming from a checkpoint reproduces the
    uninterrupted run bit for bit (with ``randomness.deterministic=True``
    and a fixed seed).

    mmengine seeds the generators once at start-up and does not save their
    states in checkpoints, and its ``DefaultSampler`` only fixes the data
    order (``seed + epoch``). A resumed run would therefore draw different
    crops (``RandomResizedCrop`` uses Python's ``random``) and dropout
    masks. This hook, once per epoch and never per iteration:

    * reseeds Python, NumPy and torch with ``(seed, i)`` before the first
      batch of an epoch whose first global iteration is ``i`` (the train
      loader of an ``EpochBasedTrainLoop`` is wrapped);
    * saves the generators' states in every checkpoint
      (``checkpoint['rng_state']``, :func:`rng_state`).

    A checkpoint saved inside an epoch (``SignalCheckpointHook``) resumes
    at its iteration: the epoch's batches before it are loaded and dropped,
    so the data order stays the sampler's, and then the saved states are
    restored, so the next crop and dropout mask are those of the
    uninterrupted run.

    Limits: with ``num_workers > 0`` the workers' generators are seeded by
    mmengine's ``worker_init_fn``, not here, and prefetching loads batches
    early, so augmentation is reproducible only with ``num_workers=0``. An
    ``IterBasedTrainLoop`` gets the saved states only.
    """

    priority = 'VERY_HIGH'

    def __init__(self):
        self._loaded_state = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_state'] = rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded_state = checkpoint.get('rng_state')

    def before_train(self, runner) -> None:
        if self._loaded_state is not None and not isinstance(
                runner.train_loop, EpochBasedTrainLoop):
            set_rng_state(self._loaded_state)
            self._loaded_state = None

    def before_train_epoch(self, runner) -> None:
        loop = runner.train_loop
        if not isinstance(loop, EpochBasedTrainLoop):
            return
        if not isinstance(loop.dataloader, _SeededBatches):
            loop.dataloader = _SeededBatches(loop.dataloader, runner)
        loop.dataloader.skip = max(
            0, runner.iter - runner.epoch * len(loop.dataloader))
        loop.dataloader.resume_state, self._loaded_state = \
            self._loaded_state, None
