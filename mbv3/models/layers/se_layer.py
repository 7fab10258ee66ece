"""Squeeze-and-excitation as MobileNetV3 uses it (paper Section 5.3)."""
import torch
import torch.nn.functional as F
from torch import nn

from .conv_norm_act import ConvNormAct
from .make_divisible import make_divisible


class SELayer(nn.Module):
    """Squeeze-and-excitation: ``x * gate(x)`` with a per-channel gate.

    ``gate = HSigmoid(conv2(ReLU(conv1(avgpool(x)))))`` where ``conv1``
    squeezes to ``make_divisible(channels // ratio, 8)`` channels. In
    MobileNetV3 it sits after the depthwise conv, on the expanded tensor
    (paper Fig. 4; torchvision ``SqueezeExcitation``; mmpretrain
    ``SELayer``, whose child names ``conv1.conv``/``conv2.conv`` it keeps).

    Shape: ``(N, C, H, W) -> (N, C, H, W)``.

    Args:
        channels (int): ``C``.
        ratio (int): Squeeze ratio. Defaults to 4.
        squeeze_channels (int, optional): Overrides the computed squeeze
            width (timm's ``rd_channels``).
        act_cfg (tuple[dict, dict]): Activations after ``conv1`` and
            ``conv2``. Defaults to ReLU and HSigmoid.
    """

    def __init__(self, channels, ratio=4, squeeze_channels=None,
                 act_cfg=(dict(type='ReLU'), dict(type='HSigmoid'))):
        super().__init__()
        if squeeze_channels is None:
            squeeze_channels = make_divisible(channels // ratio, 8)
        self.conv1 = ConvNormAct(channels, squeeze_channels, 1,
                                 norm_cfg=None, act_cfg=act_cfg[0])
        self.conv2 = ConvNormAct(squeeze_channels, channels, 1,
                                 norm_cfg=None, act_cfg=act_cfg[1])
        # The gate's activation cannot run in place: its input is still
        # needed by autograd for the h-sigmoid gradient.
        if hasattr(self.conv2.activate, 'inplace'):
            self.conv2.activate.inplace = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = F.adaptive_avg_pool2d(x, 1)
        return x * self.conv2(self.conv1(scale))
