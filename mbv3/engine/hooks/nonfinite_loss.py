"""Stop or skip a training step whose loss is NaN or infinite."""
import logging
import os.path as osp

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


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Guard the optimizer step against a NaN or infinite loss.

    The runner's optim wrapper is wrapped so that ``update_params(loss)``
    first checks the loss. A non-finite loss never reaches ``backward`` or
    the optimizer, so the weights, the optimizer state and every saved
    checkpoint stay those of the last good step.

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

    def before_train(self, runner) -> None:
        wrapper = runner.optim_wrapper
        update_params = wrapper.update_params

        def guarded_update_params(loss, *args, **kwargs):
            if torch.isfinite(loss.detach()).all():
                return update_params(loss, *args, **kwargs)
            return self._non_finite(runner, loss)

        wrapper.update_params = guarded_update_params

    def _non_finite(self, runner, loss) -> None:
        where = f'iteration {runner.iter + 1} (epoch {runner.epoch + 1})'
        if self.action == 'error':
            raise NonFiniteLossError(
                f'loss is {loss.item()} at {where}; training stopped before '
                'updating the weights. Last good checkpoint: '
                f'{_last_checkpoint(runner.work_dir)}. Set '
                "NonFiniteLossHook action='skip' to drop such steps.")
        self.skipped.append(runner.iter + 1)
        print_log(f'loss is {loss.item()} at {where}: step skipped',
                  logger='current', level=logging.WARNING)

    def after_train(self, runner) -> None:
        if self.skipped:
            print_log(f'NonFiniteLossHook skipped {len(self.skipped)} '
                      f'step(s) with a non-finite loss, at iterations '
                      f'{self.skipped}', logger='current',
                      level=logging.WARNING)
