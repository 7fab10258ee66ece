"""scikit-learn's bundled handwritten digits as an image-folder dataset.

1,797 real 8x8 grayscale scans of the digits 0-9 (the UCI "Optical
Recognition of Handwritten Digits" test set) ship inside scikit-learn, so
mbv3's main job needs no download.
"""
import os.path as osp

import numpy as np

from mbv3.registry import DATA_PREPARERS
from .writing import write_once, write_png

DIGITS_CLASSES = tuple(str(i) for i in range(10))
_MARKER = 'mbv3_digits.json'


@DATA_PREPARERS.register_module('digits')
def prepare_digits(root: str, val_ratio: float = 0.2, seed: int = 0,
                   train_subset: float = 1.0) -> dict:
    """Write the digits into ``root/{train,val}/<digit>/<index>.png``.

    The split is stratified and seeded, so the same ``seed`` always gives
    the same files. Pixels (0..16) are scaled to 0..255 PNGs of 8x8 pixels.
    A marker file records the arguments; an existing, matching folder is
    left as is.

    Args:
        root (str): Output folder.
        val_ratio (float): Fraction of each class held out, in [0.2, 0.5].
        seed (int): Split seed.
        train_subset (float): Fraction of the training split kept, in
            (0, 1] (e.g. 0.1 for a 10x smaller training set).

    Returns:
        dict: ``{'train': n_train, 'val': n_val, ...}`` image counts and the
        arguments.

    Raises:
        ValueError: For ``val_ratio`` or ``train_subset`` out of range.
    """
    if not 0.2 <= val_ratio <= 0.5:
        raise ValueError(f'val_ratio must be in [0.2, 0.5], got {val_ratio}')
    if not 0 < train_subset <= 1:
        raise ValueError(f'train_subset must be in (0, 1], got '
                         f'{train_subset}')
    wanted = dict(val_ratio=val_ratio, seed=seed, train_subset=train_subset)
    return write_once(root, _MARKER, wanted, 'digits',
                      lambda: _write_digits(root, val_ratio, seed,
                                            train_subset))


def _write_digits(root, val_ratio, seed, train_subset) -> dict:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = np.clip(np.round(digits.images * 255.0 / 16.0), 0,
                     255).astype(np.uint8)
    index = np.arange(len(images))
    train_idx, val_idx = train_test_split(index, test_size=val_ratio,
                                          random_state=seed,
                                          stratify=digits.target)
    if train_subset < 1:
        train_idx, _ = train_test_split(
            train_idx, train_size=train_subset, random_state=seed,
            stratify=digits.target[train_idx])
    counts = {}
    for split, split_idx in (('train', train_idx), ('val', val_idx)):
        for i in sorted(split_idx):
            write_png(osp.join(root, split, str(digits.target[i]),
                               f'{i:04d}.png'), images[i])
        counts[split] = len(split_idx)
    return counts
