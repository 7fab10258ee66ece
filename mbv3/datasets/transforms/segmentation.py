"""Transforms that move an image and its label mask together."""
import random

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData

from mbv3.registry import TRANSFORMS
from mbv3.structures import DataSample
from mbv3.utils.checks import check_pair
from .formatting import pack


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Crop the same random window from ``img`` and ``gt_seg_map``
    (mmseg's ``RandomCrop``).

    A side larger than the image is cropped to the image's side. With
    ``cat_max_ratio < 1`` up to 10 windows are drawn until no class
    (``ignore_index`` aside) covers more than that fraction of it.

    Keys: reads and writes ``img`` ``(H, W, C)`` and ``gt_seg_map``
    ``(H, W)``; sets ``img_shape``.

    Args:
        crop_size (int | tuple[int, int]): Window ``(h, w)`` in pixels.
        cat_max_ratio (float): Largest fraction of one class, in (0, 1].
        ignore_index (int): Mask value not counted by ``cat_max_ratio``.

    Raises:
        ValueError: For a non-positive size or a ratio outside (0, 1].
    """

    def __init__(self, crop_size, cat_max_ratio: float = 1.0,
                 ignore_index: int = 255):
        if not 0 < cat_max_ratio <= 1:
            raise ValueError(f'cat_max_ratio must be in (0, 1], got '
                             f'{cat_max_ratio!r}')
        self.crop_size = check_pair('crop_size', crop_size, 'an (h, w) pair')
        self.cat_max_ratio = cat_max_ratio
        self.ignore_index = ignore_index

    def _window(self, shape):
        h, w = min(self.crop_size[0], shape[0]), min(self.crop_size[1],
                                                     shape[1])
        top = random.randint(0, shape[0] - h)
        left = random.randint(0, shape[1] - w)
        return slice(top, top + h), slice(left, left + w)

    def _balanced(self, seg_map) -> bool:
        labels, counts = np.unique(seg_map[seg_map != self.ignore_index],
                                   return_counts=True)
        return len(labels) > 1 and counts.max() / counts.sum() < \
            self.cat_max_ratio

    def transform(self, results: dict) -> dict:
        window = self._window(results['img'].shape)
        if self.cat_max_ratio < 1 and 'gt_seg_map' in results:
            for _ in range(9):
                if self._balanced(results['gt_seg_map'][window]):
                    break
                window = self._window(results['img'].shape)
        results['img'] = results['img'][window]
        if 'gt_seg_map' in results:
            results['gt_seg_map'] = results['gt_seg_map'][window]
        results['img_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(crop_size={self.crop_size}, '
                f'cat_max_ratio={self.cat_max_ratio})')


@TRANSFORMS.register_module()
class PackSegInputs(BaseTransform):
    """Pack ``img`` into ``inputs`` and ``gt_seg_map`` into a
    ``DataSample``'s ``gt_sem_seg`` (mmseg's ``PackSegInputs``).

    Shape: ``img`` ``(H, W, C)`` or ``(H, W)`` uint8 -> ``inputs``
    ``(C, H, W)`` uint8 tensor; ``gt_seg_map`` ``(H, W)`` -> ``gt_sem_seg``
    ``PixelData`` with ``data`` ``(1, H, W)`` int64.

    Args:
        meta_keys (tuple[str]): Keys copied into the sample's meta.
    """

    def __init__(self, meta_keys=('img_path', 'seg_map_path', 'ori_shape',
                                  'img_shape', 'scale_factor', 'flip',
                                  'flip_direction')):
        self.meta_keys = meta_keys

    def transform(self, results: dict) -> dict:
        sample = DataSample()
        if 'gt_seg_map' in results:
            seg = torch.from_numpy(
                np.ascontiguousarray(results['gt_seg_map'])).long()
            sample.gt_sem_seg = PixelData(data=seg[None])
        return pack(results, 'img', sample, self.meta_keys)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
