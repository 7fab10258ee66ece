"""Evaluate every readable image once and list the unreadable ones.

An evaluation that stops at the first unreadable file loses every other
result, and mmengine's training-time answer to a bad file (draw another
sample) would score some images twice. In this mode a bad file becomes a
marker ``{'skipped_file': path, 'error': message}``, the collate function
moves the markers out of the batch (``batch['skipped_files']``), and the
loop or script that reads the batches lists them.
"""
from typing import List

from mmengine.dataset import pseudo_collate

from mbv3.registry import FUNCTIONS

SKIPPED_KEY = 'skipped_files'


def skipped_marker(path: str) -> dict:
    """The item a data set returns for an unreadable file."""
    from .transforms import skip_reason
    return dict(skipped_file=path, error=skip_reason(path))


@FUNCTIONS.register_module()
def collate_skipping_bad_files(data_batch: List[dict]) -> dict:
    """mmengine's ``pseudo_collate`` of the readable items; the markers of
    :func:`skipped_marker` go to ``batch['skipped_files']`` (a list of
    ``dict(image=path, error=message)``; ``inputs`` is empty when every item
    of the batch was unreadable)."""
    good = [item for item in data_batch if 'skipped_file' not in item]
    batch = pseudo_collate(good) if good else dict(inputs=[],
                                                   data_samples=[])
    batch[SKIPPED_KEY] = [
        dict(image=item['skipped_file'], error=item['error'])
        for item in data_batch if 'skipped_file' in item
    ]
    return batch


def skip_bad_files(loader_cfg: dict, markers: bool = True) -> dict:
    """Switch a folder data loader's config to this mode: its
    ``LoadImageFromFile`` skips unreadable files, its ``CustomDataset``
    returns markers for them, and :func:`collate_skipping_bad_files`
    collates. Other data sets (e.g. segmentation) are left as they are.

    Args:
        loader_cfg (dict): A ``*_dataloader`` config; changed in place.
        markers (bool): False for a training loader: only the transform
            skips (mmengine's ``BaseDataset`` draws another sample, and
            the data set counts the skip).

    Returns:
        dict: ``loader_cfg``.
    """
    dataset = loader_cfg['dataset']
    if str(dataset.get('type', '')).split('.')[-1] != 'CustomDataset':
        return loader_cfg
    for transform in dataset.get('pipeline', []):
        if str(transform['type']).split('.')[-1] == 'LoadImageFromFile':
            transform['skip_bad_files'] = True
    if markers:
        dataset['report_bad_files'] = True
        loader_cfg['collate_fn'] = dict(
            type='mbv3.collate_skipping_bad_files')
    return loader_cfg
