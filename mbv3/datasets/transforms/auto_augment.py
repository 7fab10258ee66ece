"""The ImageNet recipes' photometric augmentations, from torchvision.

torchvision's ``transforms.v2`` implementations are used as they are (the
recipes follow torchvision's training reference); these classes only adapt
mmcv's pipeline format to them. torchvision is imported when a transform is
built, so mbv3 itself does not require it; the recipes do
(``pip install torchvision`` or the ``train`` extra).
"""
from typing import Sequence, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mbv3.registry import TRANSFORMS


def _torchvision_v2():
    try:
        from torchvision.transforms import v2
    except ImportError as err:
        raise ImportError(
            'AutoAugment and RandomErasing wrap torchvision.transforms.v2; '
            'install torchvision (pip install torchvision, or mbv3[train])'
        ) from err
    return v2


class _TorchvisionTransform(BaseTransform):
    """Apply a torchvision v2 transform to ``results['img']``.

    Keys: reads and writes ``img``, an ``(H, W, 3)`` uint8 array in the
    order ``img_channel_order`` names ('rgb', or mmcv's 'bgr' when the key
    is absent: ``LoadImageFromFile``'s default); the torchvision transform
    sees a ``(3, H, W)`` uint8 RGB tensor, as in torchvision's reference.
    """

    def __init__(self, transform):
        self.transform_op = transform

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f'{type(self).__name__} needs an (H, W, 3) '
                             f'uint8 image, got shape {img.shape} dtype '
                             f'{img.dtype}')
        bgr = results.get('img_channel_order', 'bgr') == 'bgr'
        rgb = torch.from_numpy(np.ascontiguousarray(
            img[..., ::-1] if bgr else img))
        out = self.transform_op(rgb.permute(2, 0, 1)).permute(1, 2, 0).numpy()
        results['img'] = np.ascontiguousarray(out[..., ::-1] if bgr else out)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.transform_op!r})'


@TRANSFORMS.register_module()
class AutoAugment(_TorchvisionTransform):
    """AutoAugment (Cubuk et al., 2019, arXiv 1805.09501): one of the
    policy's 25 sub-policies, drawn at random, per image. torchvision's
    ``transforms.v2.AutoAugment``.

    Args:
        policy (str): 'imagenet' (Table 9 of the paper), 'cifar10' or
            'svhn'. Defaults to 'imagenet'.
        interpolation (str): 'nearest' (torchvision's default) or
            'bilinear', for the geometric operations.
        fill (int | Sequence[int] | None): RGB value of pixels a geometric
            operation uncovers; None is black, as in torchvision.

    Raises:
        ValueError: For an unknown ``policy`` or ``interpolation``.
        ImportError: If torchvision is not installed.
    """

    POLICIES = ('imagenet', 'cifar10', 'svhn')
    INTERPOLATIONS = ('nearest', 'bilinear')

    def __init__(self, policy: str = 'imagenet',
                 interpolation: str = 'nearest',
                 fill: Union[int, Sequence[int], None] = None):
        if policy not in self.POLICIES:
            raise ValueError(f'policy must be one of {self.POLICIES}, got '
                             f'{policy!r}')
        if interpolation not in self.INTERPOLATIONS:
            raise ValueError(f'interpolation must be one of '
                             f'{self.INTERPOLATIONS}, got {interpolation!r}')
        v2 = _torchvision_v2()
        super().__init__(v2.AutoAugment(
            policy=v2.AutoAugmentPolicy(policy),
            interpolation=v2.InterpolationMode(interpolation),
            fill=list(fill) if isinstance(fill, Sequence) else fill))


@TRANSFORMS.register_module()
class RandomErasing(_TorchvisionTransform):
    """Random Erasing (Zhong et al., 2020, arXiv 1708.04896): with
    probability ``prob`` replace a random rectangle by ``value``.
    torchvision's ``transforms.v2.RandomErasing``.

    torchvision's recipe erases after normalisation with value 0, which is
    the mean pixel; mbv3 normalises in the data preprocessor, after the
    pipeline, so the default ``value`` here is that mean pixel in 0..255
    RGB units (the ImageNet mean of the recipes' data preprocessor).

    Args:
        prob (float): Probability of erasing, in [0, 1]. Defaults to 0.5.
        area_ratio_range (tuple[float, float]): Erased area fraction.
            Defaults to (0.02, 0.33), torchvision's.
        aspect_ratio_range (tuple[float, float]): Erased h/w range.
            Defaults to (0.3, 3.3), torchvision's.
        value (int | Sequence[int]): RGB fill in 0..255. Defaults to the
            ImageNet mean (124, 116, 104).

    Raises:
        ValueError: For ``prob`` outside [0, 1].
        ImportError: If torchvision is not installed.
    """

    def __init__(self, prob: float = 0.5,
                 area_ratio_range=(0.02, 0.33),
                 aspect_ratio_range=(0.3, 3.3),
                 value: Union[int, Sequence[int]] = (124, 116, 104)):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob!r}')
        v2 = _torchvision_v2()
        super().__init__(v2.RandomErasing(
            p=prob, scale=tuple(area_ratio_range),
            ratio=tuple(aspect_ratio_range),
            value=list(value) if isinstance(value, Sequence) else value))
