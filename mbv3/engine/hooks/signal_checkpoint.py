"""Save a checkpoint when the job is told to stop."""
import logging
import os
import os.path as osp
import signal
import sys
import threading

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mbv3.registry import HOOKS
from mbv3.utils.checkpoint import write_last_checkpoint


@HOOKS.register_module()
class SignalCheckpointHook(Hook):
    """On SIGTERM or SIGINT, finish the current iteration, save a
    checkpoint and exit.

    Schedulers (Slurm, Kubernetes) send SIGTERM before killing a job;
    Ctrl-C sends SIGINT. The handler only records the signal: the step in
    flight completes, then ``iter_<n>.pth`` is written (atomically) with the
    optimizer and schedulers, ``last_checkpoint`` points to it, and the
    process exits with status ``128 + signum``. ``--resume`` continues from
    that iteration (``DeterministicResumeHook`` drops the epoch's batches
    already trained). A second signal before the save quits at once
    (``os._exit(128 + signum)``, after one line saying so): nothing is
    saved, and the checkpoints already written are whole, since they are
    written atomically. ``last_checkpoint`` records the file relative to
    the work dir (:func:`~mbv3.utils.checkpoint.write_last_checkpoint`).
    The handlers are restored after training, after the save, and by
    :meth:`restore_handlers`, which ``mbv3.apis.train`` also calls when
    training ends with an exception.

    Args:
        signals (Sequence[str]): Signal names to handle. Defaults to
            ``('SIGTERM', 'SIGINT')``; an empty sequence disables the hook.

    Raises:
        ValueError: If a name is not a signal of this platform.
    """

    priority = 'VERY_LOW'

    def __init__(self, signals=('SIGTERM', 'SIGINT')):
        self.signums = []
        for name in signals:
            if not isinstance(getattr(signal, str(name), None),
                              signal.Signals):
                raise ValueError(f'signals: {name!r} is not a signal name '
                                 'of this platform, e.g. SIGTERM')
            self.signums.append(getattr(signal, name))
        self.received = None
        self._previous = {}

    def _handle(self, signum, frame) -> None:
        if self.received is not None:
            print_log(f'second {signal.Signals(signum).name}: quitting now, '
                      'without saving', logger='current',
                      level=logging.WARNING)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + signum)
        self.received = signum
        print_log(f'received {signal.Signals(signum).name}: saving a '
                  'checkpoint after this iteration', logger='current',
                  level=logging.WARNING)

    def before_train(self, runner) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in self.signums:
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore_handlers(self) -> None:
        """Put back the handlers found at ``before_train``."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self.received is None:
            return
        filename = f'iter_{runner.iter + 1}.pth'
        runner.save_checkpoint(runner.work_dir, filename, by_epoch=False)
        path = osp.join(runner.work_dir, filename)
        write_last_checkpoint(runner.work_dir, path)
        name = signal.Signals(self.received).name
        print_log(f'{name}: saved {path!r}; continue with --resume',
                  logger='current', level=logging.WARNING)
        self.restore_handlers()
        raise SystemExit(128 + self.received)

    def after_train(self, runner) -> None:
        self.restore_handlers()
