"""Batch normalisation for classifiers, on the model's device."""
import math

import torch
import torch.nn.functional as F
from mmengine.model import ImgDataPreprocessor

from mbv3.registry import MODELS


@MODELS.register_module()
class ClsDataPreprocessor(ImgDataPreprocessor):
    """Move a batch to the model's device, convert BGR to RGB, subtract
    ``mean`` and divide by ``std``, in a few whole-batch operations.

    mmengine's ``ImgDataPreprocessor`` under mmpretrain's config names:
    ``to_rgb`` is ``bgr_to_rgb``; ``num_classes`` is accepted and unused
    (labels stay indices). The numbers equal mmengine's per-image path.

    Input: ``inputs`` a ``(N, C, H, W)`` uint8 tensor
    (:func:`~mbv3.datasets.collate_batch`) or a list of ``(C, H, W)``
    tensors (mmengine's ``pseudo_collate``; stacked first when their shapes
    agree, else normalised one by one and padded bottom-right to the
    largest, as mmengine does); ``data_samples`` a label tensor ``(N,)``,
    a list of data samples, or None. Output: ``inputs`` ``(N, C, H, W)``
    float32 on the model's device; a label tensor moved there too, data
    samples moved one by one as mmengine does.

    Args:
        mean (Sequence[float]): Per-channel mean, in 0..255 pixel units,
            RGB order when ``to_rgb``.
        std (Sequence[float]): Per-channel std, same units.
        to_rgb (bool): Swap BGR (OpenCV's order) to RGB. Defaults to False:
            mbv3's recipes load RGB (``LoadImageFromFile(channel_order=
            'rgb')``) and need no swap.
        pad_size_divisor (int): Pad H and W to a multiple of it.
        pad_value (float): Padding value, after normalisation.
        num_classes (int, optional): Accepted and ignored (mmpretrain
            configs set it).
        non_blocking (bool): Copy to the device asynchronously. Defaults to
            True: a copy from pinned memory (``pin_memory=True`` loaders)
            then overlaps with the model's work; from pageable memory torch
            copies synchronously anyway.
        channels_last (bool): Return the batch in the channels_last
            (NHWC) memory format, so every conv of the model runs in it
            (faster on GPUs with bf16/fp16; see the README's Benchmarks).
            Defaults to False.
    """

    def __init__(self, mean=None, std=None, to_rgb=False, pad_size_divisor=1,
                 pad_value=0, num_classes=None, non_blocking=True,
                 channels_last=False):
        super().__init__(mean=mean, std=std,
                         pad_size_divisor=pad_size_divisor,
                         pad_value=pad_value, bgr_to_rgb=to_rgb,
                         non_blocking=non_blocking)
        self.channels_last = channels_last

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)) and inputs and all(
                t.shape == inputs[0].shape for t in inputs):
            inputs = torch.stack(list(inputs))
        if isinstance(inputs, torch.Tensor):
            data = dict(data, inputs=self.normalise(inputs),
                        data_samples=self.cast_data(data.get('data_samples')))
        else:
            data = super().forward(data, training)
        if self.channels_last:
            data['inputs'] = data['inputs'].contiguous(
                memory_format=torch.channels_last)
        return data

    def normalise(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` images of any dtype -> float32 on the device,
        channels swapped, normalised and padded as configured."""
        if inputs.dim() != 4:
            raise ValueError(f'ClsDataPreprocessor takes (N, C, H, W) '
                             f'inputs, got shape {tuple(inputs.shape)}')
        inputs = inputs.to(self.device, non_blocking=self._non_blocking)
        if self._channel_conversion:
            inputs = inputs.flip(1)
        inputs = inputs.float()
        if self._enable_normalize:
            inputs = (inputs - self.mean) / self.std
        height, width = inputs.shape[-2:]
        pad_h = math.ceil(height / self.pad_size_divisor) * \
            self.pad_size_divisor - height
        pad_w = math.ceil(width / self.pad_size_divisor) * \
            self.pad_size_divisor - width
        if pad_h or pad_w:
            inputs = F.pad(inputs, (0, pad_w, 0, pad_h), value=self.pad_value)
        return inputs
