from .custom import CustomDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['CustomDataset']
