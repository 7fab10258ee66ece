"""Batch collation and normalisation for segmentors."""
import torch.nn.functional as F
from mmengine.model import ImgDataPreprocessor
from mmengine.structures import PixelData

from mbv3.registry import MODELS


# Arguments passed on to mmengine's ImgDataPreprocessor under its names.
PASSED_ON = ('mean', 'std', 'bgr_to_rgb', 'rgb_to_bgr', 'pad_size_divisor',
             'non_blocking')


@MODELS.register_module()
class SegDataPreprocessor(ImgDataPreprocessor):
    """Stack images of any sizes, padding them bottom-right to the largest
    (and to a multiple of ``pad_size_divisor``), normalise them, and pad
    each sample's ``gt_sem_seg`` the same way with ``seg_pad_val``
    (mmseg's ``SegDataPreProcessor`` fields).

    Sets ``batch_input_shape`` ``(H, W)`` in each sample's meta.

    Shape: list of ``(3, H_i, W_i)`` uint8 tensors -> ``(N, 3, H, W)``
    float; masks ``(1, H_i, W_i)`` -> ``(1, H, W)``.

    Args:
        mean (Sequence[float]): Per-channel mean, 0..255 units.
        std (Sequence[float]): Per-channel std, same units.
        bgr_to_rgb (bool): Swap BGR (OpenCV's order) to RGB.
        pad_size_divisor (int): Pad H and W to a multiple of it.
        non_blocking (bool): Copy to the device asynchronously.
        pad_val (float): Image padding value. Defaults to 0.
        seg_pad_val (int): Mask padding value, the ignored label 255 by
            default, so padding never counts in the loss.

    Raises:
        TypeError: For an argument not listed here (e.g. mmengine's
            ``pad_value``, or mmseg's ``size``).
    """

    def __init__(self, pad_val=0, seg_pad_val=255, **kwargs):
        # the other arguments go to ImgDataPreprocessor as they are; only
        # pad_val is renamed
        unknown = sorted(set(kwargs) - set(PASSED_ON))
        if unknown:
            raise TypeError(f'SegDataPreprocessor got unknown arguments '
                            f'{unknown}; it takes pad_val, seg_pad_val and '
                            f'{PASSED_ON} (mmseg spelling: pad_val, not '
                            f'pad_value)')
        super().__init__(pad_value=pad_val, **kwargs)
        self.seg_pad_val = seg_pad_val

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        height, width = data['inputs'].shape[-2:]
        for sample in data.get('data_samples') or ():
            sample.set_metainfo(dict(batch_input_shape=(height, width)))
            if 'gt_sem_seg' in sample:
                seg = sample.gt_sem_seg.data
                sample.gt_sem_seg = PixelData(data=F.pad(
                    seg, (0, width - seg.shape[-1], 0, height - seg.shape[-2]),
                    value=self.seg_pad_val))
        return data
