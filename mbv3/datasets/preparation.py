"""Create the data set a config declares in ``data_preparation``."""
from mmengine.config import Config

from mbv3.registry import DATA_PREPARERS


def prepare_data(cfg: Config) -> None:
    """Create the data set a config declares in ``data_preparation`` when
    it is missing, with the function registered in
    :data:`mbv3.registry.DATA_PREPARERS` under its ``type``: 'digits' writes scikit-learn's digits
    (:func:`~mbv3.datasets.digits.prepare_digits`), 'skimage_seg' tiles of
    scikit-image photos with their masks
    (:func:`~mbv3.datasets.skimage_seg.prepare_skimage_seg`).

    Raises:
        ValueError: For a ``data_preparation.type`` not registered.
    """
    prep = cfg.get('data_preparation')
    if not prep:
        return
    prep = dict(prep)
    kind = prep.pop('type')
    preparer = DATA_PREPARERS.get(kind)
    if preparer is None:
        raise ValueError(f'data_preparation type must be one of '
                         f'{sorted(DATA_PREPARERS.module_dict)}, got {kind!r}')
    preparer(**prep)
