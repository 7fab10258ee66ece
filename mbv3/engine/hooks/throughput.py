"""Training throughput (img/s) in the log, next to mmengine's ETA."""
from mmengine.dist import get_world_size
from mmengine.hooks import Hook

from mbv3.registry import HOOKS


@HOOKS.register_module()
class ThroughputHook(Hook):
    """Log ``img_per_s``: images of the global batch (all ranks) per second
    of iteration time, averaged like mmengine's ``time`` over the log
    processor's window.

    It reads the ``train/time`` that ``IterTimerHook`` records (seconds per
    iteration, data loading included) and writes ``train/img_per_s``, which
    ``LoggerHook`` prints and the visualizer backends store.
    """

    # IterTimerHook has the same priority and registers first (it is a
    # default hook); LoggerHook (BELOW_NORMAL) prints after this one.
    priority = 'NORMAL'

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        hub = runner.message_hub
        if 'train/time' not in hub.log_scalars or not data_batch:
            return
        window = runner.log_processor.window_size
        if not isinstance(window, int):
            window = 10
        seconds = hub.get_scalar('train/time').mean(window)
        images = len(data_batch['inputs']) * get_world_size()
        hub.update_scalar('train/img_per_s', images / seconds)
