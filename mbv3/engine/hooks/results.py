"""Write a training run's figures to one JSON file when it ends."""
import json
import os
import os.path as osp
import platform
import time

from mmengine.dist import master_only
from mmengine.hooks import Hook

from mbv3.registry import HOOKS


def machine() -> str:
    """CPU model, core count and 1-minute load average, in words."""
    name = platform.processor() or platform.machine()
    if os.path.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            names = [line.split(':', 1)[1].strip() for line in f
                     if line.startswith('model name')]
        name = names[0] if names else name
    load = f', load average {os.getloadavg()[0]:.1f}' \
        if hasattr(os, 'getloadavg') else ''
    return f'{name}, {os.cpu_count()} cores{load}'


@HOOKS.register_module()
class ResultsHook(Hook):
    """After training, write ``<work_dir>/<out_file>``: the figures the
    README and docs quote for this run, so that they come from one run.

    Keys: ``config`` (file name), ``epochs`` and ``iters`` trained,
    ``train_seconds`` (wall time from the start of the first training
    iteration to the end of training, validation included),
    ``val_images`` (size of the validation data set), ``metrics`` (the
    last validation metrics, e.g. ``accuracy/top1`` in percent) and
    ``machine`` (CPU model, cores, load average; see
    :func:`machine`) and ``first_iter`` (0, or the
    iteration a resumed run started from: its time covers only the rest).
    A run that trains no iteration (resuming a finished run) writes
    nothing. ``tools/analysis_tools/
    doc_figures.py --record`` copies it under ``docs/results/``.

    Args:
        out_file (str): JSON name inside the work dir. Defaults to
            'results.json'.
    """

    priority = 'LOWEST'

    def __init__(self, out_file: str = 'results.json'):
        self.out_file = out_file
        self._start = None
        self._first_iter = 0
        self._metrics = {}

    def before_train(self, runner) -> None:
        self._start = time.perf_counter()
        self._first_iter = runner.iter

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._metrics = dict(metrics or {})

    @master_only
    def after_train(self, runner) -> None:
        if runner.iter == self._first_iter:
            return
        results = dict(
            config=osp.basename(runner.cfg.filename or ''),
            epochs=runner.epoch, iters=runner.iter,
            first_iter=self._first_iter,
            train_seconds=round(time.perf_counter() - self._start, 1),
            val_images=len(runner.val_dataloader.dataset),
            metrics={k: round(float(v), 2)
                     for k, v in self._metrics.items()},
            machine=machine())
        path = osp.join(runner.work_dir, self.out_file)
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(results, f, indent=2, sort_keys=True)
            f.write('\n')
        runner.logger.info(f'Results written to {path}')
