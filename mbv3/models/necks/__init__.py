from .fpn import FPN
from .gap import GlobalAveragePooling

__all__ = ['FPN', 'GlobalAveragePooling']
