from .bad_files import collate_skipping_bad_files, skip_bad_files
from .collate import collate_batch
from .custom import CustomDataset
from .digits import prepare_digits
from .seg_dataset import SegDataset
from .skimage_seg import prepare_skimage_seg
from .textures import prepare_textures
from .transforms import *  # noqa: F401,F403

__all__ = [
    'CustomDataset', 'SegDataset', 'collate_batch',
    'collate_skipping_bad_files',
    'prepare_digits', 'prepare_skimage_seg', 'prepare_textures',
    'skip_bad_files'
]
