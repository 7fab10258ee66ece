"""Point a config at an image folder in one step (``--data-root``), take
the class count from the folder, and stop a config whose data loaders read
another folder than its ``data_root`` says."""
import os.path as osp
from typing import Optional, Sequence, Tuple

from mmengine.config import Config

from mbv3.datasets.digits import DIGITS_CLASSES
from mbv3.datasets.folder import (SPLIT_INFO, folder_classes, make_val_split,
                                  relative_to)
from mbv3.datasets.preparation import loader_datasets

# Class names of the data sets a recipe's ``data_preparation`` writes,
# known before they are written.
PREPARED_CLASSES = dict(digits=DIGITS_CLASSES)


class DataRootMismatchError(ValueError):
    """A config's top-level ``data_root`` is not what its loaders read."""


def _is_folder_dataset(dataset: dict) -> bool:
    return str(dataset.get('type', '')).split('.')[-1] == 'CustomDataset'


def _img_prefix(dataset: dict) -> str:
    prefix = dataset.get('data_prefix', '')
    return prefix.get('img_path', '') if isinstance(prefix, dict) else prefix


def check_data_root(cfg: Config) -> None:
    """Stop a config whose top-level ``data_root`` differs from the roots
    its data loaders read.

    mmengine resolves a variable in the file that uses it: appending
    ``data_root = 'mine'`` to a copy of a recipe changes the top-level key
    only, while the data sets, defined in a ``_base_`` file, keep reading
    the base file's folder.

    Raises:
        DataRootMismatchError: One line naming both paths and the fix.
    """
    top = cfg.get('data_root')
    if top is None:
        return
    for key, dataset in loader_datasets(cfg):
        root = dataset.get('data_root')
        if root is not None and osp.normpath(root) != osp.normpath(top):
            raise DataRootMismatchError(
                f'the config sets data_root={top!r}, but {key} reads '
                f'{key}.dataset.data_root={root!r} (a variable of a _base_ '
                'file keeps its value there); pass --data-root '
                f'{top} to train.py/test.py/infer.py, or set '
                f'{key}.dataset.data_root (and those of the other loaders) '
                'in the config')


def apply_data_root(cfg: Config, root: str, split_dir: str,
                    make_split: bool = True, val_ratio: float = 0.2,
                    seed: int = 0) -> Config:
    """Make every data loader of ``cfg`` read ``root`` (``--data-root``).

    The top-level ``data_root`` and each loader's ``dataset.data_root``
    become ``root``, and ``data_preparation`` is dropped: a folder given
    on the command line is never overwritten or swapped for the recipe's
    data set. For folder data sets (``CustomDataset``) ``root`` must hold
    ``train/<class>/``; without ``root/val/``, a seeded, stratified
    validation split of ``train/`` is made (or reused) in ``split_dir``
    (:func:`~mbv3.datasets.folder.make_val_split`) and the val and test
    loaders read its file list.

    Args:
        cfg (Config): Changed in place.
        root (str): The image folder.
        split_dir (str): Where the split is recorded: the training run's
            work dir.
        make_split (bool): Make the split when ``split_dir`` has none;
            False to only read it (``tools/test.py`` reads the one
            training wrote).
        val_ratio (float): Share of each class held out.
        seed (int): Split seed.

    Returns:
        Config: ``cfg``.

    Raises:
        FileNotFoundError: If ``root`` or ``root/train`` is missing, or a
            split is needed and ``split_dir`` holds none.
    """
    if not osp.isdir(root):
        raise FileNotFoundError(f'--data-root {root!r} does not exist')
    cfg.data_root = root
    cfg.pop('data_preparation', None)
    split = None
    for key, dataset in loader_datasets(cfg):
        dataset['data_root'] = root
        if not _is_folder_dataset(dataset):
            continue
        if not osp.isdir(osp.join(root, _img_prefix(dataset))):
            split = split or _recorded_split(root, split_dir, make_split,
                                             val_ratio, seed)
            _read_split(dataset, split, 'val_file')
        elif key == 'train_dataloader' and \
                not osp.isdir(osp.join(root, 'val')):
            split = split or _recorded_split(root, split_dir, make_split,
                                             val_ratio, seed)
            _read_split(dataset, split, 'train_file')
    return cfg


def root_classes(root: str) -> Tuple[str, ...]:
    """The classes of ``--data-root DIR``: the sub-folders of DIR/train.

    Raises:
        FileNotFoundError: If DIR/train does not exist.
    """
    if not osp.isdir(osp.join(root, 'train')):
        raise FileNotFoundError(
            f'--data-root {root!r} has no train/ folder: lay the images out '
            f'as {osp.join(root, "train", "<class>", "<image>")} (and '
            'optionally val/<class>/<image>)')
    return folder_classes(osp.join(root, 'train'))


def _recorded_split(root: str, split_dir: str, make_split: bool,
                    val_ratio: float, seed: int) -> dict:
    root_classes(root)  # DIR/train exists
    if not make_split and not osp.isfile(osp.join(split_dir, SPLIT_INFO)):
        raise FileNotFoundError(
            f'--data-root {root!r} has no val/ folder, and {split_dir!r} '
            f'records no split ({SPLIT_INFO}); use a checkpoint in the work '
            'dir of the run that trained it, or add '
            f'{osp.join(root, "val", "<class>", "<image>")}')
    return make_val_split(osp.join(root, 'train'), split_dir, val_ratio,
                          seed)


def _read_split(dataset: dict, split: dict, which: str) -> None:
    dataset['ann_file'] = osp.abspath(split[which])
    dataset['data_prefix'] = 'train'
    dataset['classes'] = tuple(split['classes'])


def _train_folder(cfg: Config) -> Tuple[Optional[dict], str]:
    for key, dataset in loader_datasets(cfg):
        if key == 'train_dataloader':
            return dataset, osp.join(dataset.get('data_root', ''),
                                     _img_prefix(dataset))
    return None, ''


def data_classes(cfg: Config) -> Tuple[Sequence[str], str]:
    """The class names a config's training data has, and where they were
    read: the train data set's ``classes``, else the sub-folders of its
    folder, else those of the data set ``data_preparation`` will write.

    Raises:
        FileNotFoundError: If none of these is available.
    """
    dataset, folder = _train_folder(cfg)
    if dataset is not None and dataset.get('classes'):
        return tuple(dataset['classes']), 'train_dataloader.dataset.classes'
    if dataset is not None and osp.isdir(folder):
        return folder_classes(folder), folder
    kind = (cfg.get('data_preparation') or {}).get('type')
    if kind in PREPARED_CLASSES:
        return PREPARED_CLASSES[kind], f'data_preparation {kind!r}'
    raise FileNotFoundError(
        f'model.head.num_classes is left to the data (None), but the train '
        f'folder {folder!r} does not exist{relative_to(folder)}; pass '
        '--data-root DIR (with DIR/train/<class>/<image>) or set '
        'model.head.num_classes')


def resolve_num_classes(cfg: Config,
                        classes: Optional[Sequence[str]] = None) -> None:
    """Fill ``model.head.num_classes`` when the config leaves it to the
    data (None): from ``classes`` (e.g. a checkpoint's class names), else
    :func:`data_classes`. The data preprocessor's ``num_classes`` follows,
    and the head's and evaluators' ``topk`` keep only ``k < num_classes``
    (and 1): top-k of all classes is always 100%.

    Args:
        cfg (Config): Changed in place.
        classes (Sequence[str], optional): Class names to use.

    Raises:
        FileNotFoundError: See :func:`data_classes`.
    """
    head = cfg.model.get('head')
    if not isinstance(head, dict) or 'num_classes' not in head or \
            head['num_classes'] is not None:
        return
    if not classes:
        classes, _ = data_classes(cfg)
    num = len(classes)
    head['num_classes'] = num
    for prep in (cfg.get('data_preprocessor'),
                 cfg.model.get('data_preprocessor')):
        if isinstance(prep, dict) and 'num_classes' in prep:
            prep['num_classes'] = num
    if 'topk' in head:
        head['topk'] = _clip_topk(head['topk'], num)
    for key in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg.get(key)
        for metric in evaluator if isinstance(evaluator, list) else \
                [evaluator]:
            if isinstance(metric, dict) and 'topk' in metric:
                metric['topk'] = _clip_topk(metric['topk'], num)


def _clip_topk(topk, num: int) -> tuple:
    ks = (topk, ) if isinstance(topk, int) else tuple(topk)
    return tuple(k for k in ks if k == 1 or k < num) or (1, )
