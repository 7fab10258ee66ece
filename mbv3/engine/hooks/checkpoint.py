"""mmengine's ``CheckpointHook``, recording ``last_checkpoint`` relative to
the work dir."""
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook

from mbv3.registry import HOOKS
from mbv3.utils.checkpoint import write_last_checkpoint


@HOOKS.register_module()
class CheckpointHook(MMEngineCheckpointHook):
    """Save checkpoints as mmengine's ``CheckpointHook`` does (same
    arguments), then record the one just saved in ``last_checkpoint`` with
    :func:`~mbv3.utils.checkpoint.write_last_checkpoint`: atomically, and
    relative to the work dir.

    mmengine 0.10.7 writes the absolute path with a plain ``open``, so a
    work dir copied elsewhere resumed from the original's file, and a crash
    mid-write left the pointer cut off. mbv3's configs (scope ``mbv3``)
    build this hook for ``type='CheckpointHook'``; mbv3's resume
    (:func:`~mbv3.utils.checkpoint.read_last_checkpoint`) reads both forms.
    """

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        super()._save_checkpoint_with_step(runner, step, meta)
        if is_main_process():
            write_last_checkpoint(runner.work_dir, self.last_ckpt)
