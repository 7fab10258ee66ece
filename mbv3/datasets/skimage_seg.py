"""A tiny semantic segmentation set cut from scikit-image's bundled photos.

Two real grayscale photos ship inside scikit-image: ``coins`` (303x384,
Greek coins on a dark background) and ``camera`` (512x512, the
cameraman). Each pixel is labelled by a fixed rule, so the masks are the
same on every machine: 1 ('bright') where the photo is above its Otsu
threshold, holes filled; 0 ('background') elsewhere. On ``coins`` this
segments the coins. The photos are cut into square tiles; every
``val_every``-th tile goes to the validation split.
"""
import os.path as osp

import numpy as np

from mbv3.registry import DATA_PREPARERS
from mbv3.utils.checks import check_int
from .writing import write_once, write_png

SKIMAGE_SEG_PHOTOS = ('coins', 'camera')
_MARKER = 'mbv3_skimage_seg.json'


def otsu_mask(gray: np.ndarray) -> np.ndarray:
    """The rule that labels a photo: above the Otsu threshold, holes
    filled.

    Args:
        gray (np.ndarray): ``(H, W)`` uint8 photo.

    Returns:
        np.ndarray: ``(H, W)`` uint8 mask of 0 and 1.
    """
    from scipy.ndimage import binary_fill_holes
    from skimage.filters import threshold_otsu
    return binary_fill_holes(gray > threshold_otsu(gray)).astype(np.uint8)


@DATA_PREPARERS.register_module('skimage_seg')
def prepare_skimage_seg(root: str, tile: int = 96, val_every: int = 4) -> dict:
    """Write ``root/img_dir/{train,val}/<photo>_<k>.png`` (grayscale) and
    the masks ``root/ann_dir/{train,val}/<photo>_<k>.png`` (0/1).

    A marker file records the arguments; an existing, matching folder is
    left as is.

    Args:
        root (str): Output folder.
        tile (int): Tile side in pixels, in [32, 256]. Defaults to 96.
        val_every (int): Every ``val_every``-th tile (counting from 0) is
            a validation tile; >= 2. Defaults to 4.

    Returns:
        dict: ``{'train': n_train, 'val': n_val, ...}`` tile counts and the
        arguments.

    Raises:
        ValueError: For ``tile`` or ``val_every`` out of range, or a folder
            written with other arguments.
    """
    check_int('tile', tile, 32, 256)
    check_int('val_every', val_every, low=2)
    return write_once(root, _MARKER, dict(tile=tile, val_every=val_every),
                      'tiles', lambda: _write_tiles(root, tile, val_every))


def _write_tiles(root, tile, val_every) -> dict:
    from skimage import data

    counts = dict(train=0, val=0)
    k = 0
    for name in SKIMAGE_SEG_PHOTOS:
        gray = getattr(data, name)()
        mask = otsu_mask(gray)
        for top in range(0, gray.shape[0] - tile + 1, tile):
            for left in range(0, gray.shape[1] - tile + 1, tile):
                split = 'val' if k % val_every == 0 else 'train'
                window = (slice(top, top + tile), slice(left, left + tile))
                for folder, array in (('img_dir', gray), ('ann_dir', mask)):
                    write_png(osp.join(root, folder, split,
                                       f'{name}_{k:03d}.png'), array[window])
                counts[split] += 1
                k += 1
    return counts
