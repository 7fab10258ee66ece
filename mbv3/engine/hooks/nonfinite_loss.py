"""Stop or skip a training step whose loss is NaN or infinite."""
import logging
import os.path as osp
from typing import List, NamedTuple, Optional

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mbv3.registry import HOOKS


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""


def _last_checkpoint(work_dir: str) -> str:
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return 'none was saved'
    with open(pointer, encoding='utf-8') as f:
        return repr(f.read().strip())


class _Check(NamedTuple):
    """The finiteness of one step's loss, copied towards the host."""
    iteration: int  # 0-based
    epoch: int
    loss: torch.Tensor
    bad: torch.Tensor  # bool, on the host once ``ready``
    ready: Optional[torch.cuda.Event]

    def done(self) -> bool:
        return self.ready is None or self.ready.query()


def _to_host(runner, loss: torch.Tensor, bad: torch.Tensor) -> _Check:
    """Start copying ``loss`` and ``bad`` to the host without waiting; on
    CUDA an event marks when the copies are done."""
    ready = None
    on_cuda = loss.device.type == 'cuda'
    loss = loss.float().to('cpu', non_blocking=True)
    bad = bad.to('cpu', non_blocking=True)
    if on_cuda:
        ready = torch.cuda.Event()
        ready.record()
    return _Check(runner.iter, runner.epoch, loss, bad, ready)


def skips_on_device(wrapper) -> bool:
    """Whether ``wrapper``'s optimizer step can be skipped on the device:
    a fused torch optimizer (it takes ``found_inf`` as ``GradScaler``
    passes it), one step per iteration, no loss scaler of its own."""
    return getattr(wrapper.optimizer, '_step_supports_amp_scaling', False) \
        and getattr(wrapper, '_accumulative_counts', 1) == 1 \
        and getattr(wrapper, 'loss_scaler', None) is None


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Guard the optimizer step against a NaN or infinite loss.

    The runner's optim wrapper is wrapped so that ``update_params(loss)``
    cannot change the weights or the optimizer state when the loss is not
    finite, so they and every saved checkpoint stay those of the last good
    step. How depends on the optimizer:

    * fused optimizers (mbv3's default for Adam, AdamW and SGD,
      :mod:`mbv3.engine.optim_constructor`): the check stays on the device.
      The step gets ``found_inf`` (torch's ``GradScaler`` protocol), so the
      fused kernel leaves weights and state untouched for a bad loss, and
      the flag is read on the host once the device has computed it (on CPU
      at once; on CUDA from an event, never waiting): no host-device sync
      per iteration. The error or warning comes at the end of the
      iteration (CPU) or of a later one (CUDA);
    * others (RMSprop, gradient accumulation, fp16 loss scaling): the loss
      is checked on the host before ``backward``, which syncs.

    Args:
        action (str): 'error' (default) raises :class:`NonFiniteLossError`
            naming the iteration (1-based, as logged) and the last good
            checkpoint; 'skip' drops the step, logs a warning, and reports
            the number skipped at the end of training.

    Raises:
        ValueError: If ``action`` is not 'error' or 'skip'.
    """

    priority = 'VERY_HIGH'

    def __init__(self, action: str = 'error'):
        if action not in ('error', 'skip'):
            raise ValueError(f"action must be 'error' or 'skip', got "
                             f'{action!r}')
        self.action = action
        self.skipped = []
        self._pending: List[_Check] = []

    def before_train(self, runner) -> None:
        wrapper = runner.optim_wrapper
        update_params = wrapper.update_params
        self._pending = []
        if not skips_on_device(wrapper):

            def checked_update_params(loss, *args, **kwargs):
                if torch.isfinite(loss.detach()).all():
                    return update_params(loss, *args, **kwargs)
                return self._non_finite(runner, runner.iter, runner.epoch,
                                        loss.item())

            wrapper.update_params = checked_update_params
            return
        optimizer = wrapper.optimizer

        # eager: torch.compile (``compile=True``) traces the forward up to
        # here; backward and the fused step run as kernels anyway
        @torch.compiler.disable
        def guarded_update_params(loss, *args, **kwargs):
            value = loss.detach()
            bad = ~torch.isfinite(value).all()
            # 1: the fused kernel skips the step (weights and state)
            optimizer.found_inf = bad.float()
            try:
                result = update_params(loss, *args, **kwargs)
            finally:
                del optimizer.found_inf
            self._pending.append(_to_host(runner, value, bad))
            return result

        wrapper.update_params = guarded_update_params

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        self._report(runner, wait=False)

    def _report(self, runner, wait: bool) -> None:
        while self._pending and (wait or self._pending[0].done()):
            check = self._pending.pop(0)
            if check.ready is not None:
                check.ready.synchronize()
            if check.bad.numpy():
                self._non_finite(runner, check.iteration, check.epoch,
                                 float(check.loss.numpy()))

    def _non_finite(self, runner, iteration: int, epoch: int,
                    loss: float) -> None:
        where = f'iteration {iteration + 1} (epoch {epoch + 1})'
        if self.action == 'error':
            raise NonFiniteLossError(
                f'loss is {loss} at {where}; training stopped before '
                'updating the weights. Last good checkpoint: '
                f'{_last_checkpoint(runner.work_dir)}. Set '
                "NonFiniteLossHook action='skip' to drop such steps.")
        self.skipped.append(iteration + 1)
        print_log(f'loss is {loss} at {where}: step skipped',
                  logger='current', level=logging.WARNING)

    def after_train(self, runner) -> None:
        self._report(runner, wait=True)
        if self.skipped:
            print_log(f'NonFiniteLossHook skipped {len(self.skipped)} '
                      f'step(s) with a non-finite loss, at iterations '
                      f'{self.skipped}', logger='current',
                      level=logging.WARNING)
