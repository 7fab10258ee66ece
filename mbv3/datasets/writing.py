"""The one way mbv3 writes a generated data set to disk: PNG files, and a
marker recording the arguments, so a folder is written once and never
silently mixed with another set."""
import json
import os
import os.path as osp
from typing import Callable, Dict

import numpy as np


def write_once(root: str, marker: str, wanted: dict, what: str,
               write: Callable[[], Dict[str, int]]) -> dict:
    """Run ``write()`` unless ``root`` already holds this data set.

    Args:
        root (str): Output folder.
        marker (str): Name of the marker file in ``root``.
        wanted (dict): The arguments the data set is written with.
        what (str): What the files are, for the message ('digits').
        write (Callable): Writes the files; returns counts per split.

    Returns:
        dict: ``wanted`` and the counts, as the marker records them.

    Raises:
        ValueError: If ``root`` holds the data set written with other
            arguments, or other files (no marker: e.g. a user's own data
            set), which writing into would mix with these.
    """
    path = osp.join(root, marker)
    if osp.isfile(path):
        with open(path) as f:
            info = json.load(f)
        if all(info.get(k) == v for k, v in wanted.items()):
            return info
        raise ValueError(f'{root!r} already holds {what} written with '
                         f'{ {k: info.get(k) for k in wanted} }, not '
                         f'{wanted}; choose another folder')
    if osp.isdir(root) and os.listdir(root):
        raise ValueError(f'{root!r} already holds files but no {marker} '
                         f'(not {what} written by mbv3, or an interrupted '
                         f'write); writing {what} there would mix the two: '
                         f'choose another folder, or empty this one')
    info = dict(wanted, **write())
    with open(path, 'w') as f:
        json.dump(info, f)
    return info


def write_png(path: str, array: np.ndarray) -> None:
    """Write a ``(H, W)`` or ``(H, W, 3)`` uint8 array as a PNG, creating
    its folder."""
    import cv2
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, array)
