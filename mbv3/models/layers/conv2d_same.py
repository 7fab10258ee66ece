"""Convolution with TensorFlow's 'SAME' padding, for weights trained in
TensorFlow (timm's ``tf_mobilenetv3_*`` ports) or with mmcv's
``Conv2dAdaptivePadding`` (mmseg's MobileNetV3)."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

from mbv3.registry import MODELS


def same_padding(size: int, kernel_size: int, stride: int,
                 dilation: int) -> Tuple[int, int]:
    """TensorFlow 'SAME' padding of one spatial dimension.

    The output has ``ceil(size / stride)`` positions; the total padding that
    needs is split with the extra pixel at the end (right/bottom), so it is
    asymmetric for stride 2 on even sizes.

    Only ``+ - * // %`` touch ``size``, so it may also be a traced size: a
    ``SymInt`` (``torch.compile``, ``torch.export``), an FX ``Proxy`` or the
    0-dim tensor ``x.shape[i]`` is under ``torch.jit.trace`` and the ONNX
    exporter. The padding is then computed in the graph and follows the
    input size, instead of being baked in at the example's size.

    Args:
        size (int): Input length in pixels.
        kernel_size (int): Kernel length.
        stride (int): Stride.
        dilation (int): Dilation.

    Returns:
        tuple[int, int]: Pixels to pad before and after.
    """
    reach = (kernel_size - 1) * dilation + 1
    out = (size + stride - 1) // stride  # ceil(size / stride)
    total = (out - 1) * stride + reach - size
    if reach < stride:
        # total, in [reach - stride, reach - 1], may be negative: then no
        # padding. The factor is 1 if total >= 0 else 0.
        total = total * ((total + stride) // stride)
    before = total // 2
    return before, total - before


@MODELS.register_module()
class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` padded like TensorFlow's ``padding='SAME'``.

    Select it with ``conv_cfg=dict(type='Conv2dSame')``. The padding is
    computed from the input size in :meth:`forward`
    (:func:`same_padding`), with shape arithmetic that FX, TorchScript,
    ``torch.export``, ``torch.compile`` and the ONNX exporter keep in the
    graph. A stride-1 conv with an odd effective kernel pads symmetrically,
    and a 1x1 conv needs no padding, so those use the static padding
    ``nn.Conv2d`` has. Matches timm's ``Conv2dSame`` /
    ``create_conv2d(padding='same')`` and mmcv's ``Conv2dAdaptivePadding``.

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
        self.static = all(r == 0 for r in reach) or (
            all(s == 1 for s in self.stride) and all(r % 2 == 0
                                                     for r in reach))
        if self.static:
            self.padding = tuple(r // 2 for r in reach)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.static:
            top, bottom = same_padding(x.shape[-2], self.kernel_size[0],
                                       self.stride[0], self.dilation[0])
            left, right = same_padding(x.shape[-1], self.kernel_size[1],
                                       self.stride[1], self.dilation[1])
            x = F.pad(x, [left, right, top, bottom])
        return self._conv_forward(x, self.weight, self.bias)
