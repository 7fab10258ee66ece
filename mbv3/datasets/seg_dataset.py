"""A semantic segmentation dataset read from a folder of image/mask pairs."""
import os
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.dataset import BaseDataset

from mbv3.registry import DATASETS
from .skips import RecordsSkips


@DATASETS.register_module()
class SegDataset(RecordsSkips, BaseDataset):
    """Images and their label masks in two parallel folders, with the
    field names of mmseg's ``BaseSegDataset``.

    ``data_root/data_prefix['img_path']/<rel>/<stem><img_suffix>`` pairs
    with ``data_root/data_prefix['seg_map_path']/<rel>/<stem>
    <seg_map_suffix>``; a mask holds one class index per pixel (uint8 PNG),
    ``ignore_index`` marks pixels left out of the loss and the metric.

    Each item is ``dict(img_path=..., seg_map_path=...)`` before the
    pipeline; ``metainfo['classes']`` holds the class names.

    Args:
        data_root (str): Root folder.
        data_prefix (dict): ``dict(img_path=..., seg_map_path=...)``,
            sub-folders of ``data_root``.
        classes (Sequence[str], optional): Class names, index order; may
            also come as ``metainfo=dict(classes=...)``.
        img_suffix (str): Image file suffix. Defaults to '.jpg'.
        seg_map_suffix (str): Mask file suffix. Defaults to '.png'.
        ignore_index (int): Mask value ignored. Defaults to 255.
        pipeline (Sequence[dict]): Transforms.
        test_mode (bool): mmengine's flag.
        lazy_init (bool): Defer scanning the folders.

    Raises:
        ValueError: Without class names, or when the image folder holds no
            image with ``img_suffix``.
        FileNotFoundError: If the image folder or an image's mask is
            missing (the message names the mask path).
    """

    def __init__(self, data_root: str = '',
                 data_prefix=dict(img_path='', seg_map_path=''),
                 classes: Optional[Sequence[str]] = None,
                 img_suffix: str = '.jpg', seg_map_suffix: str = '.png',
                 ignore_index: int = 255, metainfo: Optional[dict] = None,
                 pipeline=(), test_mode: bool = False,
                 lazy_init: bool = False, **kwargs):
        metainfo = dict(metainfo or {})
        if classes is not None:
            metainfo['classes'] = tuple(classes)
        if not metainfo.get('classes'):
            raise ValueError('SegDataset needs class names: pass classes=('
                             "'background', ...) or metainfo=dict(classes="
                             '...)')
        self.img_suffix = img_suffix
        self.seg_map_suffix = seg_map_suffix
        self.ignore_index = ignore_index
        super().__init__(metainfo=metainfo, data_root=data_root,
                         data_prefix=dict(data_prefix),
                         pipeline=list(pipeline), test_mode=test_mode,
                         lazy_init=lazy_init, **kwargs)

    def load_data_list(self) -> List[dict]:
        img_root = self.data_prefix['img_path']
        seg_root = self.data_prefix['seg_map_path']
        if not osp.isdir(img_root):
            raise FileNotFoundError(f'image folder {img_root!r} does not '
                                    'exist')
        data_list = []
        for dirpath, _, files in sorted(os.walk(img_root)):
            for file in sorted(files):
                if not file.endswith(self.img_suffix):
                    continue
                rel = osp.relpath(osp.join(dirpath, file), img_root)
                seg_map = osp.join(
                    seg_root,
                    rel[:-len(self.img_suffix)] + self.seg_map_suffix)
                if not osp.isfile(seg_map):
                    raise FileNotFoundError(
                        f'image {rel!r} has no mask: {seg_map!r} does not '
                        'exist')
                data_list.append(dict(img_path=osp.join(dirpath, file),
                                      seg_map_path=seg_map,
                                      seg_fields=[]))
        if not data_list:
            raise ValueError(f'image folder {img_root!r} holds no images '
                             f'with suffix {self.img_suffix!r}')
        return data_list
