"""Check the classifier head against the data set before training."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mbv3.registry import HOOKS


@HOOKS.register_module()
class NumClassesCheckHook(Hook):
    """Before the first iteration, compare ``model.head.num_classes`` with
    the number of classes of the train (and val) data set's
    ``metainfo['classes']``.

    A mismatch otherwise fails obscurely (a CUDA assert, or a silently
    wrong top-k when the head is larger). Models without ``head.num_classes``
    and data sets without ``classes`` are not checked.

    Raises:
        ValueError: At ``before_train`` / ``before_val``, naming both counts.
    """

    def _check(self, runner, loader, split: str) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        num_classes = getattr(getattr(model, 'head', None), 'num_classes',
                              None)
        dataset = getattr(loader, 'dataset', None)
        classes = getattr(dataset, 'metainfo', {}).get('classes')
        if num_classes is None or classes is None or \
                len(classes) == num_classes:
            return
        raise ValueError(
            f'model.head.num_classes is {num_classes}, but the {split} data '
            f'set {type(dataset).__name__} has {len(classes)} classes '
            f'{tuple(classes)[:10]}{"..." if len(classes) > 10 else ""}; '
            f'set model.head.num_classes={len(classes)}')

    def before_train(self, runner) -> None:
        self._check(runner, runner.train_dataloader, 'train')

    def before_val(self, runner) -> None:
        self._check(runner, runner.val_dataloader, 'val')
