"""Create the data set a config declares in ``data_preparation``."""
from mmengine.config import Config


def prepare_data(cfg: Config) -> None:
    """Create the data set a config declares in ``data_preparation`` when
    it is missing: 'digits' writes scikit-learn's digits
    (:func:`~mbv3.datasets.digits.prepare_digits`), 'skimage_seg' tiles of
    scikit-image photos with their masks
    (:func:`~mbv3.datasets.skimage_seg.prepare_skimage_seg`).

    Raises:
        ValueError: For another ``data_preparation.type``.
    """
    prep = cfg.get('data_preparation')
    if not prep:
        return
    prep = dict(prep)
    kind = prep.pop('type')
    from .digits import prepare_digits
    from .skimage_seg import prepare_skimage_seg
    preparers = dict(digits=prepare_digits, skimage_seg=prepare_skimage_seg)
    if kind not in preparers:
        raise ValueError(f'data_preparation type must be one of '
                         f'{sorted(preparers)}, got {kind!r}')
    preparers[kind](**prep)
