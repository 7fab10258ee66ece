"""Image folders laid out as ``<root>/<split>/<class>/**/<image>``: their
classes, and a validation split for a folder that has only ``train/``."""
import json
import logging
import os
import os.path as osp
from typing import Dict, List, Tuple

from mmengine.logging import print_log

from mbv3.utils.text import printable

# The image files mbv3 reads, in training and at inference (what OpenCV
# decodes); lower case, matched case-insensitively.
IMAGE_EXTENSIONS = ('.bmp', '.jpeg', '.jpg', '.pgm', '.png', '.ppm', '.tif',
                    '.tiff', '.webp')
SPLIT_FILES = ('train.txt', 'val.txt')
SPLIT_INFO = 'split.json'


def display_path(path: str) -> str:
    """``path`` as printable text: bytes of a file name that are not UTF-8
    (which Python holds as lone surrogates) become ``\\xNN``, and control
    characters (a terminal's escape sequences) their ``\\x1b``-style
    escapes (:func:`~mbv3.utils.text.printable`), so a name can be printed
    and written to UTF-8 files.

    Args:
        path (str): A path as ``os`` functions return it.

    Returns:
        str: Printable UTF-8 text (the path itself when it already is).
    """
    return printable(os.fsencode(path).decode('utf-8', 'backslashreplace'))


def _is_utf8(path: str) -> bool:
    try:
        path.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return True


def folder_classes(folder: str) -> Tuple[str, ...]:
    """The class names of an image folder: its sub-folders, sorted.

    Args:
        folder (str): A folder holding one sub-folder per class.

    Returns:
        tuple[str]: The sub-folder names, sorted (the label order of
        :class:`~mbv3.datasets.CustomDataset`).

    Raises:
        FileNotFoundError: If ``folder`` does not exist.
        ValueError: If it has no sub-folder.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'dataset folder {folder!r} does not exist')
    classes = tuple(sorted(d.name for d in os.scandir(folder) if d.is_dir()))
    if not classes:
        raise ValueError(f'dataset folder {folder!r} has no class '
                         'sub-folders (expected <folder>/<class>/<image>)')
    return classes


def folder_images(folder: str, classes: Tuple[str, ...],
                  extensions=IMAGE_EXTENSIONS) -> List[Tuple[str, int]]:
    """``(path relative to folder, label)`` of every image, class by class,
    each class's files sorted (``os.walk`` order made deterministic)."""
    items = []
    for label, name in enumerate(classes):
        for dirpath, _, files in sorted(os.walk(osp.join(folder, name))):
            for file in sorted(files):
                if file.lower().endswith(tuple(extensions)):
                    items.append((osp.relpath(osp.join(dirpath, file),
                                              folder), label))
    return items


def _write_split(path: str, items) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(f'{rel} {label}\n' for rel, label in items)


def make_val_split(train_folder: str, out_dir: str, val_ratio: float = 0.2,
                   seed: int = 0) -> Dict:
    """Hold out a seeded, stratified share of each class of a folder that
    has no ``val/``, and record the split in ``out_dir``.

    ``out_dir/train.txt`` and ``out_dir/val.txt`` hold ``relative/path
    label`` lines (the ``ann_file`` format of
    :class:`~mbv3.datasets.CustomDataset`, paths relative to
    ``train_folder``); ``out_dir/split.json`` the folder, classes, ratio and
    seed. An existing split of the same folder, ratio and seed is reused
    as recorded, so a resumed run and ``tools/test.py`` see the same
    images; the split is drawn like scikit-learn's
    ``train_test_split(stratify=...)``. Files whose name is not UTF-8
    cannot be written to the split files: they are left out, named in a
    warning and in ``split.json`` (``not_utf8``, :func:`display_path`).

    Args:
        train_folder (str): ``<root>/train`` with one sub-folder per class.
        out_dir (str): Where the split is written (the run's work dir).
        val_ratio (float): Share of each class held out, in (0, 0.5].
        seed (int): Random seed of the split.

    Returns:
        dict: ``folder``, ``classes``, ``val_ratio``, ``seed``, ``train``
        and ``val`` (image counts), ``not_utf8`` (the names left out),
        ``train_file`` and ``val_file`` (paths).

    Raises:
        ValueError: For ``val_ratio`` out of range, a class with fewer than
            2 images, or a split in ``out_dir`` recorded for another folder,
            ratio or seed (the message names both).
    """
    if not 0 < val_ratio <= 0.5:
        raise ValueError(f'val_ratio must be in (0, 0.5], got {val_ratio}')
    wanted = dict(folder=osp.abspath(train_folder), val_ratio=val_ratio,
                  seed=seed)
    info_path = osp.join(out_dir, SPLIT_INFO)
    files = dict(train_file=osp.join(out_dir, SPLIT_FILES[0]),
                 val_file=osp.join(out_dir, SPLIT_FILES[1]))
    if osp.isfile(info_path):
        with open(info_path, encoding='utf-8') as f:
            info = json.load(f)
        if all(info.get(k) == v for k, v in wanted.items()):
            return dict(info, **files)
        raise ValueError(
            f'{info_path!r} records a split of {info.get("folder")!r} '
            f'(val_ratio={info.get("val_ratio")}, seed={info.get("seed")}), '
            f'not of {wanted["folder"]!r} (val_ratio={val_ratio}, '
            f'seed={seed}); use another --work-dir')
    from sklearn.model_selection import train_test_split
    classes = folder_classes(train_folder)
    items, not_utf8 = [], []
    for rel, label in folder_images(train_folder, classes):
        (items if _is_utf8(rel) else not_utf8).append((rel, label))
    if not_utf8:
        # the split files are UTF-8 text of paths
        print_log(f'the validation split leaves out {len(not_utf8)} '
                  'file(s) whose name is not UTF-8 (rename them to use '
                  'them): ' + ', '.join(display_path(rel)
                                        for rel, _ in not_utf8),
                  logger='current', level=logging.WARNING)
    labels = [label for _, label in items]
    for label, name in enumerate(classes):
        if labels.count(label) < 2:
            raise ValueError(
                f'class {name!r} of {train_folder!r} has '
                f'{labels.count(label)} image(s); a validation split needs '
                'at least 2 per class: add images or a val/ folder')
    train, val = train_test_split(items, test_size=val_ratio,
                                  random_state=seed, stratify=labels)
    os.makedirs(out_dir, exist_ok=True)
    _write_split(files['train_file'], sorted(train, key=lambda x: x[::-1]))
    _write_split(files['val_file'], sorted(val, key=lambda x: x[::-1]))
    info = dict(wanted, classes=list(classes), train=len(train),
                val=len(val),
                not_utf8=[display_path(rel) for rel, _ in not_utf8])
    with open(info_path, 'w', encoding='utf-8') as f:
        json.dump(info, f, indent=2)
    return dict(info, **files)
