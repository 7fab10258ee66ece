"""Stop an evaluation whose checkpoint does not fit the model."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mbv3.models.checkpoint_fit import check_checkpoint_fits
from mbv3.registry import HOOKS


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Before mmengine loads ``load_from`` (non-strictly, which scores a
    checkpoint of another arch or class count at chance with one warning),
    check that every tensor fits the model (``tools/test.py`` adds this hook
    unless ``--partial-load``).

    Args:
        checkpoint (str): The checkpoint's path, named in the error.

    Raises:
        mbv3.models.checkpoint_fit.CheckpointMismatchError: When the
            checkpoint is loaded, if it does not fit (one line: the arch,
            class count and keys that differ, and the fix).
    """

    priority = 'VERY_HIGH'

    def __init__(self, checkpoint: str):
        self.checkpoint = checkpoint

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        check_checkpoint_fits(model, checkpoint, self.checkpoint)
