from .bad_files import collate_skipping_bad_files, skip_bad_files
from .custom import CustomDataset
from .seg_dataset import SegDataset
from .transforms import *  # noqa: F401,F403

__all__ = [
    'CustomDataset', 'SegDataset', 'collate_skipping_bad_files',
    'skip_bad_files'
]
