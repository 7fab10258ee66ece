from mmcv.transforms import (CenterCrop, LoadAnnotations, LoadImageFromFile,
                             Normalize, RandomFlip, RandomGrayscale,
                             RandomResize, Resize)

from mbv3.registry import TRANSFORMS
from .formatting import PackInputs
from .processing import RandomResizedCrop, ResizeEdge
from .segmentation import PackSegInputs, RandomCrop

# mmcv's generic transforms, under mbv3's scope too.
for _transform in (CenterCrop, LoadAnnotations, LoadImageFromFile, Normalize,
                   RandomFlip, RandomGrayscale, RandomResize, Resize):
    TRANSFORMS.register_module(module=_transform)

__all__ = [
    'PackInputs', 'PackSegInputs', 'RandomCrop', 'RandomResizedCrop',
    'ResizeEdge'
]
