"""Geometric transforms of the ImageNet recipes that mmcv lacks."""
import math
import random
from typing import Tuple

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from mbv3.registry import TRANSFORMS
from mbv3.utils.checks import check_int, check_pair


@TRANSFORMS.register_module()
class RandomResizedCrop(BaseTransform):
    """Crop a random area and aspect ratio, then resize to ``scale``
    (Inception-style; torchvision's ``RandomResizedCrop``, mmpretrain's
    argument names).

    After 10 failed draws it falls back to a central crop of the largest
    allowed aspect ratio, as torchvision does.

    Keys: reads and writes ``img`` (``(H, W, C)`` uint8), sets
    ``img_shape``.

    Args:
        scale (int | tuple[int, int]): Output size in pixels, ``(w, h)``.
        crop_ratio_range (tuple[float, float]): Area fraction range.
            Defaults to (0.08, 1.0).
        aspect_ratio_range (tuple[float, float]): w/h range. Defaults to
            (3/4, 4/3).
        max_attempts (int): Draws before the fallback. Defaults to 10.
        interpolation (str): mmcv interpolation, 'bilinear' by default.
        backend (str): mmcv resize backend, 'cv2' or 'pillow'.

    Raises:
        ValueError: For ranges that are empty or outside (0, 1].
    """

    def __init__(self, scale, crop_ratio_range=(0.08, 1.0),
                 aspect_ratio_range=(3. / 4., 4. / 3.), max_attempts=10,
                 interpolation='bilinear', backend='cv2'):
        self.scale = check_pair('scale', scale, 'a (w, h) pair')
        low, high = crop_ratio_range
        if not 0 < low <= high <= 1:
            raise ValueError(f'crop_ratio_range must satisfy 0 < low <= high '
                             f'<= 1, got {crop_ratio_range!r}')
        if not 0 < aspect_ratio_range[0] <= aspect_ratio_range[1]:
            raise ValueError(f'aspect_ratio_range must satisfy 0 < low <= '
                             f'high, got {aspect_ratio_range!r}')
        self.crop_ratio_range = (low, high)
        self.aspect_ratio_range = tuple(aspect_ratio_range)
        self.max_attempts = max_attempts
        self.interpolation = interpolation
        self.backend = backend

    def get_params(self, img: np.ndarray) -> Tuple[int, int, int, int]:
        """A random crop ``(top, left, height, width)`` in pixels."""
        h, w = img.shape[:2]
        area = h * w
        log_ratio = (math.log(self.aspect_ratio_range[0]),
                     math.log(self.aspect_ratio_range[1]))
        for _ in range(self.max_attempts):
            target = area * random.uniform(*self.crop_ratio_range)
            ratio = math.exp(random.uniform(*log_ratio))
            cw = int(round(math.sqrt(target * ratio)))
            ch = int(round(math.sqrt(target / ratio)))
            if 0 < cw <= w and 0 < ch <= h:
                return (random.randint(0, h - ch), random.randint(0, w - cw),
                        ch, cw)
        in_ratio = w / h
        if in_ratio < self.aspect_ratio_range[0]:
            cw, ch = w, int(round(w / self.aspect_ratio_range[0]))
        elif in_ratio > self.aspect_ratio_range[1]:
            ch, cw = h, int(round(h * self.aspect_ratio_range[1]))
        else:
            cw, ch = w, h
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def transform(self, results: dict) -> dict:
        img = results['img']
        top, left, ch, cw = self.get_params(img)
        img = img[top:top + ch, left:left + cw]
        img = mmcv.imresize(img, self.scale, interpolation=self.interpolation,
                            backend=self.backend)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale={self.scale}, '
                f'crop_ratio_range={self.crop_ratio_range}, '
                f'aspect_ratio_range={self.aspect_ratio_range})')


@TRANSFORMS.register_module()
class ResizeEdge(BaseTransform):
    """Resize so one edge equals ``scale`` pixels, keeping the aspect
    ratio (mmpretrain's ``ResizeEdge``; torchvision ``Resize(int)``).

    Keys: reads and writes ``img``, sets ``img_shape`` and ``scale``.

    Args:
        scale (int): Target length of the chosen edge, in pixels.
        edge (str): 'short', 'long', 'width' or 'height'.
        interpolation (str): mmcv interpolation. Defaults to 'bilinear'.
        backend (str): 'cv2' or 'pillow'.

    Raises:
        ValueError: For a non-positive ``scale`` or an unknown ``edge``.
    """

    EDGES = ('short', 'long', 'width', 'height')

    def __init__(self, scale: int, edge: str = 'short',
                 interpolation: str = 'bilinear', backend: str = 'cv2'):
        check_int('scale', scale, low=1, allowed='a positive int')
        if edge not in self.EDGES:
            raise ValueError(f'edge must be one of {self.EDGES}, got '
                             f'{edge!r}')
        self.scale, self.edge = scale, edge
        self.interpolation, self.backend = interpolation, backend

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        edge = self.edge
        if edge in ('short', 'long'):
            edge = 'width' if (w < h) == (edge == 'short') else 'height'
        # the other edge is truncated, as mmpretrain's ResizeEdge and
        # torchvision's Resize(int) do
        if edge == 'width':
            size = (self.scale, max(1, int(self.scale * h / w)))
        else:
            size = (max(1, int(self.scale * w / h)), self.scale)
        img = mmcv.imresize(img, size, interpolation=self.interpolation,
                            backend=self.backend)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['scale'] = size
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(scale={self.scale}, edge={self.edge})'
