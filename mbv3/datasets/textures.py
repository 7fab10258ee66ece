"""scikit-image's bundled texture photos as a small classification set.

Three real grayscale photos (``skimage.data.brick``, ``grass``, ``gravel``;
512x512 each) are cut into square crops; the training crops come from the
left half of each photo and the validation crops from the right half, so
no pixel is in both splits. It is a second real data set of another kind
than the digits (natural textures, not scanned symbols), used for the int8
accuracy table.
"""
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np

from mbv3.registry import DATA_PREPARERS
from .writing import write_once, write_png

TEXTURE_CLASSES = ('brick', 'grass', 'gravel')
_MARKER = 'mbv3_textures.json'


def texture_crops(size: int = 64, stride: int = 32
                  ) -> Dict[str, List[Tuple[np.ndarray, int]]]:
    """Crops of the texture photos, split by photo half.

    Args:
        size (int): Crop height and width in pixels, 8..256.
        stride (int): Step between crops in pixels (crops of one half may
            overlap each other, never the other half), >= 1.

    Returns:
        dict: ``{'train': [(crop, label), ...], 'val': [...]}``, each crop
        ``(size, size)`` uint8 grayscale, label the index in
        :data:`TEXTURE_CLASSES`. With the defaults, 105 crops per class and
        split (15 rows x 7 columns in each 512x256 half).

    Raises:
        ValueError: If ``size`` or ``stride`` is out of range.
    """
    if not 8 <= size <= 256:
        raise ValueError(f'size must be in [8, 256], got {size}')
    if stride < 1:
        raise ValueError(f'stride must be >= 1, got {stride}')
    from skimage import data
    splits = {'train': [], 'val': []}
    for label, name in enumerate(TEXTURE_CLASSES):
        photo = getattr(data, name)()
        half = photo.shape[1] // 2
        for split, part in (('train', photo[:, :half]),
                            ('val', photo[:, half:])):
            for top in range(0, part.shape[0] - size + 1, stride):
                for left in range(0, part.shape[1] - size + 1, stride):
                    crop = part[top:top + size, left:left + size]
                    splits[split].append((np.ascontiguousarray(crop), label))
    return splits


@DATA_PREPARERS.register_module('textures')
def prepare_textures(root: str, size: int = 64, stride: int = 32) -> dict:
    """Write :func:`texture_crops` as ``root/{train,val}/<class>/*.png``
    (mbv3's ``CustomDataset`` layout), once: a marker file records the
    settings and a second call with the same ones returns at once.

    Returns:
        dict: ``size``, ``stride`` and the number of ``train`` and ``val``
        images.

    Raises:
        ValueError: For bad ``size``/``stride``, or when ``root`` holds
            crops written with other settings.
    """
    return write_once(root, _MARKER, dict(size=size, stride=stride),
                      'texture crops',
                      lambda: _write_textures(root, size, stride))


def _write_textures(root, size, stride) -> dict:
    counts = {}
    for split, crops in texture_crops(size, stride).items():
        for i, (crop, label) in enumerate(crops):
            write_png(osp.join(root, split, TEXTURE_CLASSES[label],
                               f'{i:04d}.png'), crop)
        counts[split] = len(crops)
    return counts
