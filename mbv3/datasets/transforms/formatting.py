"""Packing a transformed image and its label for the model."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mbv3.registry import TRANSFORMS
from mbv3.structures import DataSample


def pack(results: dict, input_key: str, sample: DataSample,
         meta_keys) -> dict:
    """``dict(inputs=..., data_samples=sample)``: the image at
    ``input_key`` (if present) as a ``(C, H, W)`` tensor (a 1-D array of
    encoded bytes as it is), and ``sample`` with the ``meta_keys`` of
    ``results`` as its meta."""
    packed = {}
    if input_key in results:
        img = results[input_key]
        if img.ndim == 2:
            img = img[..., None]
        if img.ndim == 3:
            img = np.ascontiguousarray(img.transpose(2, 0, 1))
        packed['inputs'] = torch.from_numpy(img)
    sample.set_metainfo({k: results[k] for k in meta_keys if k in results})
    packed['data_samples'] = sample
    return packed


@TRANSFORMS.register_module()
class PackInputs(BaseTransform):
    """Pack ``img`` into ``inputs`` and the rest into a ``DataSample``
    (mmpretrain's ``PackInputs``).

    Shape: ``img`` ``(H, W, C)`` or ``(H, W)`` uint8 -> ``inputs``
    ``(C, H, W)`` uint8 tensor (contiguous); a 1-D array (the encoded
    bytes of ``LoadImageBytes``, ``input_key='img_bytes'``) stays 1-D.

    Args:
        input_key (str): The image key. Defaults to 'img'.
        meta_keys (tuple[str]): Keys copied into the sample's meta.
    """

    def __init__(self, input_key='img',
                 meta_keys=('sample_idx', 'img_path', 'ori_shape',
                            'img_shape', 'scale_factor', 'flip',
                            'flip_direction')):
        self.input_key = input_key
        self.meta_keys = meta_keys

    def transform(self, results: dict) -> dict:
        sample = DataSample()
        if 'gt_label' in results:
            sample.set_gt_label(results['gt_label'])
        return pack(results, self.input_key, sample, self.meta_keys)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(input_key={self.input_key!r})'
