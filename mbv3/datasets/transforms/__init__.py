from mmcv.transforms import (CenterCrop, LoadImageFromFile, Normalize,
                             RandomFlip, RandomGrayscale, RandomResize,
                             Resize)

from mbv3.registry import TRANSFORMS
from .auto_augment import AutoAugment, RandomErasing
from .formatting import PackInputs
from .processing import RandomResizedCrop, ResizeEdge

# mmcv's generic transforms, under mbv3's scope too.
for _transform in (CenterCrop, LoadImageFromFile, Normalize, RandomFlip,
                   RandomGrayscale, RandomResize, Resize):
    TRANSFORMS.register_module(module=_transform)

__all__ = ['AutoAugment', 'PackInputs', 'RandomErasing', 'RandomResizedCrop',
           'ResizeEdge']
