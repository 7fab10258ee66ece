"""A classification dataset read from a folder or an annotation file."""
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.dataset import BaseDataset

from mbv3.registry import DATASETS
from .bad_files import skipped_marker
from .folder import IMAGE_EXTENSIONS, folder_classes, folder_images
from .skips import RecordsSkips
from .transforms import LoadImageFromFile


def _decoded(results: dict):
    """The pipeline step that replaces ``LoadImageFromFile`` for images
    decoded in advance: None (skipped) for a file that could not be."""
    return results if 'img' in results else None


@DATASETS.register_module()
class CustomDataset(RecordsSkips, BaseDataset):
    """ImageNet-style folder dataset (mmpretrain's ``CustomDataset``).

    Either ``data_root/data_prefix/<class>/**/<image>`` with classes sorted
    by folder name, or an ``ann_file`` of ``relative/path label`` lines
    (paths relative to ``data_root/data_prefix``).

    Each item is ``dict(img_path=..., gt_label=int)`` before the pipeline.
    ``metainfo['classes']`` holds the class names.

    Args:
        data_root (str): Root folder.
        data_prefix (str | dict): Sub-folder of the images, or mmengine's
            ``dict(img_path=...)``.
        ann_file (str): Optional annotation file, relative to
            ``data_root``.
        classes (Sequence[str], optional): Class names; for ``ann_file``
            without folders these name the label indices.
        extensions (Sequence[str]): Image suffixes scanned in folder mode.
        pipeline (Sequence[dict]): Transforms.
        test_mode (bool): mmengine's flag.
        lazy_init (bool): Defer reading the file list.
        report_bad_files (bool): For an item whose pipeline returns None
            (a file ``LoadImageFromFile(skip_bad_files=True)`` could not
            read), return :func:`~mbv3.datasets.bad_files.skipped_marker`
            instead of drawing another item or raising: evaluation then
            scores every readable file once and lists the others.
        in_memory (bool): Decode every image once, when the file list is
            read, with the pipeline's first step (which must be
            ``LoadImageFromFile``), and keep the arrays; the rest of the
            pipeline (the augmentation) still runs per access. For data
            sets that fit in memory (the digits: 1,797 images of 8x8).
            Unreadable files are then skipped (or raise) as the loading
            step would do per access.

    Raises:
        FileNotFoundError: If the folder or ``ann_file`` is missing, or an
            ``ann_file`` line names a missing image (the message gives the
            line and the path).
        ValueError: For a malformed ``ann_file`` line or an empty folder,
            or ``in_memory=True`` with a pipeline that does not start with
            ``LoadImageFromFile``.
    """

    def __init__(self, data_root: str = '', data_prefix='',
                 ann_file: str = '', classes: Optional[Sequence[str]] = None,
                 extensions: Sequence[str] = IMAGE_EXTENSIONS,
                 metainfo: Optional[dict] = None, pipeline=(),
                 test_mode: bool = False, lazy_init: bool = False,
                 report_bad_files: bool = False, in_memory: bool = False,
                 **kwargs):
        self.report_bad_files = report_bad_files
        self.in_memory = in_memory
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        self.extensions = tuple(e.lower() for e in extensions)
        metainfo = dict(metainfo or {})
        if classes is not None:
            metainfo['classes'] = tuple(classes)
        super().__init__(ann_file=ann_file, metainfo=metainfo,
                         data_root=data_root, data_prefix=data_prefix,
                         pipeline=list(pipeline), test_mode=test_mode,
                         lazy_init=lazy_init, **kwargs)

    def __getitem__(self, idx: int) -> dict:
        if not self.report_bad_files:
            return super().__getitem__(idx)
        if not self._fully_initialized:
            self.full_init()
        data = self.prepare_data(idx)
        if data is None:
            return skipped_marker(self.get_data_info(idx)['img_path'])
        return data

    @property
    def img_prefix(self) -> str:
        return self.data_prefix['img_path']

    def load_data_list(self) -> List[dict]:
        data_list = self._load_ann_file() if self.ann_file else \
            self._scan_folder()
        return self._decode(data_list) if self.in_memory else data_list

    def _decode(self, data_list: List[dict]) -> List[dict]:
        steps = self.pipeline.transforms
        if not steps or not isinstance(steps[0], LoadImageFromFile):
            raise ValueError(f'in_memory=True decodes with the pipeline\'s '
                             f'first step, which must be LoadImageFromFile; '
                             f'got {steps[0] if steps else "no step"!r}')
        load, steps[0] = steps[0], _decoded
        return [load(dict(info)) or info for info in data_list]

    def _scan_folder(self) -> List[dict]:
        root = self.img_prefix
        classes = folder_classes(root)
        if 'classes' in self._metainfo and \
                tuple(self._metainfo['classes']) != classes:
            raise ValueError(f'classes {self._metainfo["classes"]} do not '
                             f'match the folders of {root!r}: {classes}')
        self._metainfo['classes'] = classes
        data_list = [
            dict(img_path=osp.join(root, rel), gt_label=label)
            for rel, label in folder_images(root, classes, self.extensions)
        ]
        if not data_list:
            raise ValueError(f'dataset folder {root!r} holds no images with '
                             f'suffixes {self.extensions}')
        return data_list

    def _load_ann_file(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'ann_file {self.ann_file!r} does not exist')
        data_list = []
        with open(self.ann_file, encoding='utf-8') as f:
            for lineno, line in enumerate(f, start=1):
                line = line.strip()
                if not line:
                    continue
                path, _, label = line.rpartition(' ')
                if not path or not label.lstrip('-').isdigit() or \
                        int(label) < 0:
                    raise ValueError(
                        f'{self.ann_file}:{lineno}: expected "path label" '
                        f'with a label >= 0, got {line!r}')
                img_path = osp.join(self.img_prefix, path)
                # a special file (a pipe, a link loop) is listed, and
                # skipped or refused by the image reader
                if not osp.lexists(img_path):
                    raise FileNotFoundError(
                        f'{self.ann_file}:{lineno}: image {img_path!r} does '
                        'not exist')
                data_list.append(dict(img_path=img_path,
                                      gt_label=int(label)))
        if 'classes' not in self._metainfo:
            num = max(d['gt_label'] for d in data_list) + 1 \
                if data_list else 0
            self._metainfo['classes'] = tuple(str(i) for i in range(num))
        return data_list
