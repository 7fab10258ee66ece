"""Check the classifier head against the data set before training."""
import os
import os.path as osp

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

    Before training it also checks that the val data set has the train
    data set's classes, in the same order.

    Raises:
        ValueError: At ``before_train``, if the val data set lacks a class
            of the train data set (naming the class folders to add), has
            one it has not, or orders them otherwise.
        ValueError: At ``before_train`` / ``before_val``, naming both counts
            and the folder counted. When the folder looks like the wrong one
            (outside the config's ``data_root``, or a data set a recipe
            wrote itself, e.g. the digits), the fix named is pointing the
            data at the right folder, not changing ``num_classes``.
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
        folder = getattr(dataset, 'img_prefix', None) or getattr(
            dataset, 'data_root', None)
        counted = (f'the {split} data set {type(dataset).__name__} has '
                   f'{len(classes)} classes {tuple(classes)[:10]}'
                   f'{"..." if len(classes) > 10 else ""}'
                   f'{f" in {folder!r}" if folder else ""}')
        wrong = _wrong_folder_reason(folder, getattr(runner, 'cfg', None))
        if wrong:
            raise ValueError(
                f'model.head.num_classes is {num_classes}, but {counted}, '
                f'which looks like the wrong folder ({wrong}); point the '
                'data sets at your folder with --data-root DIR')
        raise ValueError(
            f'model.head.num_classes is {num_classes}, but {counted}; set '
            f'model.head.num_classes={len(classes)}, or None to take it '
            'from the training folder')

    def _check_val_classes(self, runner) -> None:
        """The val data set must have the train data set's classes: a
        class folder missing from val/ shifts every later class index."""
        if getattr(runner, 'val_loop', None) is None:
            return
        train = runner.train_dataloader.dataset
        val = runner.val_dataloader.dataset
        train_classes = getattr(train, 'metainfo', {}).get('classes')
        val_classes = getattr(val, 'metainfo', {}).get('classes')
        if not train_classes or not val_classes or \
                tuple(train_classes) == tuple(val_classes):
            return
        folder = getattr(val, 'img_prefix', None) or 'the val folder'
        missing = [c for c in train_classes if c not in val_classes]
        extra = [c for c in val_classes if c not in train_classes]
        differences = []
        if missing:
            differences.append(
                f'lacks the class folder(s) {missing} of the train data set'
                f' (add {[osp.join(folder, c) for c in missing]} with '
                'images of those classes)')
        if extra:
            differences.append(
                f'has class folder(s) {extra} that the train data set has '
                'not (remove them or add them to train)')
        if not differences:
            differences.append(f'lists the classes in another order '
                               f'{tuple(val_classes)}')
        raise ValueError(
            f'the val data set in {folder!r} '
            f'{"; it ".join(differences)}: val and train must have the '
            f'same classes, got train {tuple(train_classes)}')

    def before_train(self, runner) -> None:
        self._check(runner, runner.train_dataloader, 'train')
        self._check_val_classes(runner)

    def before_val(self, runner) -> None:
        self._check(runner, runner.val_dataloader, 'val')


def _wrong_folder_reason(folder, cfg) -> str:
    """Why ``folder`` looks like another data set than the one meant, or
    ''."""
    if not folder:
        return ''
    top = cfg.get('data_root') if cfg is not None else None
    if top and not osp.abspath(folder).startswith(osp.abspath(top)):
        return f'the config sets data_root={top!r}'
    root = osp.dirname(osp.abspath(folder))
    markers = [name for name in (os.listdir(root) if osp.isdir(root) else [])
               if name.startswith('mbv3_') and name.endswith('.json')]
    if markers:
        return (f'{root!r} holds the data set a recipe wrote itself '
                f'({markers[0]})')
    return ''
