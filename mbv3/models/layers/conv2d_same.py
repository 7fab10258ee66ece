"""Convolution with TensorFlow's 'SAME' padding, for weights trained in
TensorFlow (timm's ``tf_mobilenetv3_*`` ports) or with mmcv's
``Conv2dAdaptivePadding`` (mmseg's MobileNetV3)."""
import math

import torch
import torch.nn.functional as F
from torch import nn

from mbv3.registry import MODELS


def same_padding(size: int, kernel_size: int, stride: int,
                 dilation: int) -> tuple:
    """TensorFlow 'SAME' padding of one spatial dimension.

    The output has ``ceil(size / stride)`` positions; the total padding that
    needs is split with the extra pixel at the end (right/bottom), so it is
    asymmetric for stride 2 on even sizes.

    Args:
        size (int): Input length in pixels.
        kernel_size (int): Kernel length.
        stride (int): Stride.
        dilation (int): Dilation.

    Returns:
        tuple[int, int]: Pixels to pad before and after.
    """
    total = max((math.ceil(size / stride) - 1) * stride +
                (kernel_size - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


@MODELS.register_module()
class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` padded like TensorFlow's ``padding='SAME'``.

    Select it with ``conv_cfg=dict(type='Conv2dSame')``. The padding is
    computed from the input size in :meth:`forward`
    (:func:`same_padding`); a stride-1 conv with an odd effective kernel
    pads symmetrically, so it uses the static padding ``nn.Conv2d`` has.
    Matches timm's ``Conv2dSame`` / ``create_conv2d(padding='same')`` and
    mmcv's ``Conv2dAdaptivePadding``.

    Shape: ``(N, C_in, H, W) -> (N, C_out, ceil(H / s), ceil(W / s))``.

    Args:
        in_channels, out_channels, kernel_size, stride, dilation, groups,
        bias: As for ``nn.Conv2d``.
        padding: Not used: the padding follows from the input size. It is
            accepted so that the class can replace ``nn.Conv2d`` wherever
            a conv is built with an explicit padding.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1,
                 padding=0, dilation=1, groups=1, bias=True):
        super().__init__(in_channels, out_channels, kernel_size, stride, 0,
                         dilation, groups, bias)
        reach = [(k - 1) * d for k, d in zip(self.kernel_size,
                                             self.dilation)]
        self.static = all(s == 1 for s in self.stride) and all(
            r % 2 == 0 for r in reach)
        if self.static:
            self.padding = tuple(r // 2 for r in reach)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.static:
            return super().forward(x)
        pad_h = same_padding(x.shape[-2], self.kernel_size[0], self.stride[0],
                             self.dilation[0])
        pad_w = same_padding(x.shape[-1], self.kernel_size[1], self.stride[1],
                             self.dilation[1])
        return super().forward(F.pad(x, pad_w + pad_h))
