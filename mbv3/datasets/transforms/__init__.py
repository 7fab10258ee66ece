from mmcv.transforms import (CenterCrop, LoadAnnotations, Normalize,
                             RandomFlip, RandomGrayscale, RandomResize,
                             Resize)

from mbv3.registry import TRANSFORMS
from .auto_augment import AutoAugment, RandomErasing
from .formatting import PackInputs
from .loading import (ImageDecodeError, LoadImageBytes, LoadImageFromFile,
                      decode_image, read_image, set_max_image_pixels,
                      skip_reason, to_rgb8)
from .processing import RandomResizedCrop, ResizeEdge
from .segmentation import PackSegInputs, RandomCrop

# mmcv's generic transforms, under mbv3's scope too.
for _transform in (CenterCrop, LoadAnnotations, Normalize, RandomFlip,
                   RandomGrayscale, RandomResize, Resize):
    TRANSFORMS.register_module(module=_transform)

__all__ = [
    'AutoAugment', 'ImageDecodeError', 'LoadImageBytes', 'LoadImageFromFile',
    'PackInputs',
    'PackSegInputs', 'RandomCrop', 'RandomErasing', 'RandomResizedCrop',
    'ResizeEdge', 'decode_image', 'read_image', 'set_max_image_pixels',
    'skip_reason', 'to_rgb8'
]
