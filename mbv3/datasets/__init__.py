from .custom import CustomDataset
from .seg_dataset import SegDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['CustomDataset', 'SegDataset']
