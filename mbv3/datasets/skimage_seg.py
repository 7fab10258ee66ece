"""A tiny semantic segmentation set cut from scikit-image's bundled photos.

Two real grayscale photos ship inside scikit-image: ``coins`` (303x384,
Greek coins on a dark background) and ``camera`` (512x512, the
cameraman). Each pixel is labelled by a fixed rule, so the masks are the
same on every machine: 1 ('bright') where the photo is above its Otsu
threshold, holes filled; 0 ('background') elsewhere. On ``coins`` this
segments the coins. The photos are cut into square tiles; every
``val_every``-th tile goes to the validation split.
"""
import json
import os
import os.path as osp

import numpy as np

from .marker import read_marker

SKIMAGE_SEG_CLASSES = ('background', 'bright')
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
    if not isinstance(tile, int) or not 32 <= tile <= 256:
        raise ValueError(f'tile must be an int in [32, 256], got {tile!r}')
    if not isinstance(val_every, int) or val_every < 2:
        raise ValueError(f'val_every must be an int >= 2, got '
                         f'{val_every!r}')
    wanted = dict(tile=tile, val_every=val_every)
    info = read_marker(root, _MARKER, wanted, 'tiles')
    if info is not None:
        return info

    import cv2
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
                    path = osp.join(root, folder, split, f'{name}_{k:03d}.png')
                    os.makedirs(osp.dirname(path), exist_ok=True)
                    cv2.imwrite(path, array[window])
                counts[split] += 1
                k += 1
    info = dict(wanted, **counts)
    with open(osp.join(root, _MARKER), 'w') as f:
        json.dump(info, f)
    return info
