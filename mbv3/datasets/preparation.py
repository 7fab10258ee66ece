"""Create the data set a config declares in ``data_preparation``."""
import os.path as osp
from typing import Iterator, Tuple

from mmengine.config import Config

from mbv3.registry import DATA_PREPARERS

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def loader_datasets(cfg: Config) -> Iterator[Tuple[str, dict]]:
    """``(loader key, dataset config)`` of each data loader of ``cfg``;
    wrappers such as ``RepeatDataset(dataset=...)`` are looked through."""
    for key in LOADERS:
        loader = cfg.get(key)
        if not loader:
            continue
        dataset = loader.get('dataset')
        while isinstance(dataset, dict) and isinstance(
                dataset.get('dataset'), dict):
            dataset = dataset['dataset']
        if isinstance(dataset, dict):
            yield key, dataset


def _read_by_a_loader(cfg: Config, root) -> bool:
    return any(
        osp.normpath(str(dataset.get('data_root'))) == osp.normpath(str(root))
        for _, dataset in loader_datasets(cfg))


def prepare_data(cfg: Config, missing_only: bool = False) -> None:
    """Create the data set a config declares in ``data_preparation`` when
    it is missing and a data loader reads its root (a config pointed at
    another folder prepares nothing), with the function registered in
    :data:`mbv3.registry.DATA_PREPARERS` under its ``type``: 'digits'
    writes scikit-learn's digits
    (:func:`~mbv3.datasets.digits.prepare_digits`), 'skimage_seg' tiles of
    scikit-image photos with their masks
    (:func:`~mbv3.datasets.skimage_seg.prepare_skimage_seg`), 'textures'
    crops of scikit-image's texture photos
    (:func:`~mbv3.datasets.textures.prepare_textures`).

    Args:
        cfg (Config): The run's config.
        missing_only (bool): Prepare only when the root folder does not
            exist (an evaluation reads the folder as it is, whatever the
            options it was written with).

    Raises:
        ValueError: For a ``data_preparation.type`` not registered.
    """
    prep = cfg.get('data_preparation')
    if not prep or not _read_by_a_loader(cfg, prep.get('root')):
        return
    if missing_only and osp.isdir(str(prep.get('root'))):
        return
    prep = dict(prep)
    kind = prep.pop('type')
    preparer = DATA_PREPARERS.get(kind)
    if preparer is None:
        raise ValueError(f'data_preparation type must be one of '
                         f'{sorted(DATA_PREPARERS.module_dict)}, got {kind!r}')
    preparer(**prep)
