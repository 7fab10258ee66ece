"""Where a training iteration's time goes: the config's real pipeline,
model, optimizer and hooks, split by phase; the model alone; and the
loop's fixed cost with a trivial model (the command is
:mod:`mbv3.cli.benchmark_train`)."""
import copy
import resource
import statistics
import tempfile
import time
from typing import Dict, List, Optional

import torch
from mmengine.model import BaseModel
from mmengine.runner import EpochBasedTrainLoop, Runner
from torch import nn

from mbv3.datasets.preparation import prepare_data
from mbv3.deploy.timing import seconds_per_call, timed_call
from mbv3.registry import LOOPS
from mbv3.utils.checks import check_int
from .train import build_train_config

# The phases of one iteration, in the order they run. 'other' is what the
# iteration spends outside the named phases: autocast set-up, loss
# parsing, the non-finite check, the loop itself.
PHASES = ('data_wait', 'preprocessor', 'forward', 'backward', 'optimizer',
          'hooks', 'other')


class _PhaseClock:
    """Seconds per phase of the current iteration; ``enabled=False`` makes
    :meth:`wrap` call through untimed (and without device syncs)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.enabled = True
        self.current: Dict[str, float] = dict.fromkeys(PHASES, 0.0)

    def wrap(self, phase: str, fn):

        def timed(*args, **kwargs):
            if not self.enabled:
                return fn(*args, **kwargs)
            result, seconds = timed_call(fn, *args, device=self.device,
                                         **kwargs)
            self.current[phase] += seconds
            return result

        return timed

    def take(self) -> Dict[str, float]:
        current, self.current = self.current, dict.fromkeys(PHASES, 0.0)
        return current


@LOOPS.register_module()
class TimedTrainLoop(EpochBasedTrainLoop):
    """mmengine's ``EpochBasedTrainLoop`` for a fixed number of iterations,
    timed: ``warmup`` untimed iterations, ``split_iters`` iterations split
    by phase (:data:`PHASES`; on CUDA the device is synchronised around
    each phase), then ``end_to_end_iters`` untimed-inside iterations timed
    as a whole, and the model alone on a synthetic batch. Epoch-level hooks
    run as in training but are not timed; ``after_train`` (the end-of-run
    reports) is not called. Used by
    :func:`benchmark_training`; the results are in :attr:`results`.

    Args:
        warmup, split_iters, end_to_end_iters (int): Iteration counts.
        **kwargs: ``EpochBasedTrainLoop``'s (``dataloader``,
            ``max_epochs``); validation does not run.
    """

    def __init__(self, runner, dataloader, warmup: int, split_iters: int,
                 end_to_end_iters: int, **kwargs):
        kwargs.pop('val_interval', None)
        kwargs.pop('val_begin', None)
        super().__init__(runner, dataloader, **kwargs)
        self.counts = (warmup, split_iters, end_to_end_iters)
        self.results: dict = {}

    def _instrument(self, clock: _PhaseClock) -> None:
        model, wrapper = self.runner.model, self.runner.optim_wrapper
        preprocessor = model.data_preprocessor
        preprocessor.forward = clock.wrap('preprocessor',
                                          preprocessor.forward)
        model._run_forward = clock.wrap('forward', model._run_forward)
        wrapper.backward = clock.wrap('backward', wrapper.backward)
        wrapper.step = clock.wrap('optimizer', wrapper.step)
        wrapper.zero_grad = clock.wrap('optimizer', wrapper.zero_grad)
        self.runner.call_hook = clock.wrap('hooks', self.runner.call_hook)

    def _batches(self):
        """Batches, epoch after epoch, with the epoch hooks between."""
        call_hook = self.runner.call_hook
        while True:
            call_hook('before_train_epoch')
            self.runner.model.train()
            for idx, batch in enumerate(self.dataloader):
                yield idx, batch
            call_hook('after_train_epoch')
            self._epoch += 1

    def run(self) -> nn.Module:
        device = next(self.runner.model.parameters()).device
        self.runner.call_hook('before_train')
        clock = _PhaseClock(device)
        batches = self._batches()
        warmup, split_iters, end_to_end_iters = self.counts
        for _ in range(warmup):
            self.run_iter(*next(batches))
        self._instrument(clock)
        split: List[Dict[str, float]] = []
        faults = _minor_page_faults()
        for _ in range(split_iters):
            clock.take()
            start = _now(device)
            (idx, batch), wait = timed_call(next, batches, device=device)
            self.run_iter(idx, batch)
            iteration = _now(device) - start
            phases = clock.take()
            phases['data_wait'] = wait
            # the rest of the iteration; negative if phases overlapped
            phases['other'] = iteration - sum(phases.values())
            phases['iteration'] = iteration
            split.append(phases)
        faults = (_minor_page_faults() - faults) / split_iters
        clock.enabled = False
        images = 0
        start = _now(device)
        for _ in range(end_to_end_iters):
            idx, batch = next(batches)
            self.run_iter(idx, batch)
            images += _batch_size(batch)
        end_to_end = images / (_now(device) - start)
        self.results = dict(
            batch_size=self.dataloader.batch_size, split=split,
            page_faults_per_iter=faults, end_to_end_img_per_s=end_to_end,
            model_only_img_per_s=self._model_only(device))
        return self.runner.model

    def _model_only(self, device: torch.device) -> float:
        """Images per second of forward, backward and optimizer step on a
        synthetic batch already on the device (the preprocessed last batch
        with its images replaced by noise)."""
        model, wrapper = self.runner.model, self.runner.optim_wrapper
        data = _last_preprocessed(model)
        data['inputs'] = torch.randn_like(data['inputs'])

        def step():
            with wrapper.optim_context(model):
                losses = model._run_forward(data, mode='loss')
            loss, _ = model.parse_losses(losses)
            type(wrapper).update_params(wrapper, loss)

        step()
        return len(data['inputs']) / seconds_per_call(
            step, max(self.counts[1], 1), device)


def _minor_page_faults() -> int:
    """Minor page faults of this process so far: memory the OS maps in
    on first touch (:mod:`mbv3.deploy.malloc`)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _now(device: torch.device) -> float:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return time.perf_counter()


def _batch_size(batch) -> int:
    inputs = batch['inputs'] if isinstance(batch, dict) else batch[0]
    return len(inputs)


def _last_preprocessed(model: nn.Module) -> dict:
    """The data preprocessor's output for the batch it saw last, kept by
    a forward hook installed by :func:`_keep_last_preprocessed`."""
    return dict(model.data_preprocessor.last_output)


def _keep_last_preprocessed(model: nn.Module) -> None:

    def keep(module, args, output):
        module.last_output = output

    model.data_preprocessor.register_forward_hook(keep)


class TrivialClassifier(BaseModel):
    """The interface of an mbv3 classifier (``forward(inputs, data_samples,
    mode)``, the config's data preprocessor) around a one-parameter model:
    the loss is ``scale * mean(inputs)``. Training it costs what the loop
    around the model costs."""

    def __init__(self, data_preprocessor: nn.Module):
        super().__init__(data_preprocessor=data_preprocessor)
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.scale * inputs.float().mean()
        return dict(loss=out) if mode == 'loss' else out


def _mean_ms(split: List[Dict[str, float]], phase: str) -> float:
    return 1000 * statistics.fmean(it[phase] for it in split)


def _timed_run(cfg, device: str, trivial: bool) -> dict:
    cfg = copy.deepcopy(cfg)
    cfg.experiment_name = f'benchmark_train_{time.time_ns()}'
    runner = Runner.from_cfg(cfg)
    if trivial:
        runner.model = TrivialClassifier(runner.model.data_preprocessor)
    # mmengine places the model on the GPU whenever one is visible
    runner.model.to(device)
    _keep_last_preprocessed(runner.model)
    try:
        runner.train()
    finally:
        for hook in runner.hooks:
            if hasattr(hook, 'restore_handlers'):
                hook.restore_handlers()
    results = runner.train_loop.results
    return dict(split_ms={phase: _mean_ms(results['split'], phase)
                          for phase in PHASES},
                iteration_ms=_mean_ms(results['split'], 'iteration'),
                batch_size=results['batch_size'],
                page_faults_per_iter=results['page_faults_per_iter'],
                end_to_end_img_per_s=results['end_to_end_img_per_s'],
                model_only_img_per_s=results['model_only_img_per_s'],
                optimizer_groups=len(
                    runner.optim_wrapper.optimizer.param_groups))


def benchmark_training(config: str, device: str = 'cpu', warmup: int = 3,
                       iters: int = 20, work_dir: Optional[str] = None,
                       cfg_options: Optional[dict] = None) -> dict:
    """Time the training loop of ``config``: its pipeline, preprocessor,
    model, optimizer and hooks, as ``tools/train.py`` builds them
    (validation off), then the same loop with :class:`TrivialClassifier`
    in place of the model (the loop's fixed cost).

    Each run trains ``warmup`` untimed iterations, ``iters`` iterations
    split by phase (means; on CUDA each phase is synchronised, so the
    split is of device time too and the phases do not overlap), ``iters``
    more timed as a whole (end to end, no syncs inside), then times the
    model alone (forward, backward, optimizer step) on a synthetic batch
    already on the device.

    Args:
        config (str): Training config path.
        device (str): 'cpu' or 'cuda'.
        warmup (int): Untimed iterations first, >= 1.
        iters (int): Timed iterations per measurement, >= 2.
        work_dir (str, optional): Where the runs write their logs; default
            a temporary folder.
        cfg_options (dict, optional): Config keys to override, dotted.

    Returns:
        dict: ``config``, ``device``, ``batch_size``, ``iters``,
        ``optimizer_groups``, ``split_ms`` (a mean per phase of
        :data:`PHASES`, ms per iteration; 'other' is the iteration's time
        outside the named phases), ``iteration_ms`` (the mean wall time of
        an iteration, data wait included), ``page_faults_per_iter`` (the
        main process's minor page faults per split iteration),
        ``end_to_end_img_per_s``, ``model_only_img_per_s``, and
        ``fixed_cost`` (``split_ms``, ``iteration_ms`` and
        ``outside_data_wait_ms`` with the trivial model).

    Raises:
        ValueError: For ``device`` other than 'cpu'/'cuda' (or 'cuda'
            without CUDA), ``warmup`` < 1 or ``iters`` < 2.
    """
    if device not in ('cpu', 'cuda'):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == 'cuda' and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked, but torch sees no CUDA device")
    check_int('warmup', warmup, low=1)
    check_int('iters', iters, low=2)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = build_train_config(config, work_dir=work_dir or tmp,
                                 cfg_options=cfg_options)
        prepare_data(cfg)
        loop = dict(type='TimedTrainLoop', warmup=warmup, split_iters=iters,
                    end_to_end_iters=iters)
        cfg.train_cfg = dict(cfg.train_cfg, **loop)
        cfg.train_cfg.pop('by_epoch', None)
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
        real = _timed_run(cfg, device, trivial=False)
        trivial = _timed_run(cfg, device, trivial=True)
    batch = real['batch_size']
    fixed = trivial['split_ms']
    return dict(
        config=config.replace('\\', '/').rsplit('/', 1)[-1],
        device=device, batch_size=batch, iters=iters,
        optimizer_groups=real['optimizer_groups'],
        split_ms=real['split_ms'], iteration_ms=real['iteration_ms'],
        page_faults_per_iter=real['page_faults_per_iter'],
        end_to_end_img_per_s=real['end_to_end_img_per_s'],
        model_only_img_per_s=real['model_only_img_per_s'],
        fixed_cost=dict(
            split_ms=fixed, iteration_ms=trivial['iteration_ms'],
            outside_data_wait_ms=trivial['iteration_ms'] -
            fixed['data_wait']))
