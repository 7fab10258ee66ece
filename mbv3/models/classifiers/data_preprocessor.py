"""Batch collation and normalisation for classifiers."""
import torch
from mmengine.model import ImgDataPreprocessor

from mbv3.registry import MODELS


@MODELS.register_module()
class ClsDataPreprocessor(ImgDataPreprocessor):
    """Stack images, convert BGR to RGB, subtract ``mean``, divide by
    ``std`` and move the batch to the model's device.

    mmengine's ``ImgDataPreprocessor`` under mmpretrain's config names:
    ``to_rgb`` is ``bgr_to_rgb``; ``num_classes`` is accepted and unused
    (labels stay indices).

    Shape: list of ``(3, H, W)`` uint8 tensors -> ``(N, 3, H, W)`` float.

    Args:
        mean (Sequence[float]): Per-channel mean, in 0..255 pixel units,
            RGB order when ``to_rgb``.
        std (Sequence[float]): Per-channel std, same units.
        to_rgb (bool): Swap BGR (OpenCV's order) to RGB. Defaults to False.
        pad_size_divisor (int): Pad H and W to a multiple of it.
        num_classes (int, optional): Accepted and ignored (mmpretrain
            configs set it).
        channels_last (bool): Return the batch in the channels_last
            (NHWC) memory format, so every conv of the model runs in it
            (faster on GPUs with bf16/fp16; see docs/benchmarks.md).
            Defaults to False.
    """

    def __init__(self, mean=None, std=None, to_rgb=False, pad_size_divisor=1,
                 pad_value=0, num_classes=None, non_blocking=False,
                 channels_last=False):
        super().__init__(mean=mean, std=std,
                         pad_size_divisor=pad_size_divisor,
                         pad_value=pad_value, bgr_to_rgb=to_rgb,
                         non_blocking=non_blocking)
        self.channels_last = channels_last

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        if self.channels_last:
            data['inputs'] = data['inputs'].contiguous(
                memory_format=torch.channels_last)
        return data
