"""The inverted residual ("bneck") block of MobileNetV2/V3."""
from typing import Tuple

import torch
import torch.utils.checkpoint as cp
from torch import nn

from .conv_norm_act import ConvNormAct
from .se_layer import SELayer


class InvertedResidual(nn.Module):
    """MobileNetV3 bneck (paper Fig. 4): 1x1 expand -> kxk depthwise ->
    optional SE -> linear 1x1 projection, plus an identity shortcut (by
    default iff ``stride == 1 and in_channels == out_channels``).

    The expand conv exists only when ``mid_channels != in_channels`` (else
    ``expand_conv`` is None, as ``se`` is without SE). Child
    names (``expand_conv``, ``depthwise_conv``, ``se``, ``linear_conv``)
    follow mmpretrain's ``InvertedResidual``; torchvision's
    ``InvertedResidual`` computes the same function.

    Shape: ``(N, in_channels, H, W) -> (N, out_channels, ceil(H / stride),
    ceil(W / stride))`` for odd ``kernel_size``.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        mid_channels (int): Expanded channels (the depthwise width).
        kernel_size (int): Depthwise kernel size. Defaults to 3.
        stride (int): Depthwise stride, 1 or 2. Defaults to 1.
        dilation (int): Depthwise dilation. Defaults to 1.
        with_se (bool): Add the SE layer. Defaults to False.
        conv_cfg (dict, optional): Conv config.
        norm_cfg (dict): Norm config. Defaults to BN.
        act_cfg (dict): Activation of the expand and depthwise convs.
        with_cp (bool): Gradient checkpointing of the block (only used when
            the input requires grad): less memory, a slower step.
        with_res_shortcut (bool, optional): Force the identity shortcut on
            or off. A stride-2 block run at stride 1 and dilated keeps the
            no-shortcut of its stride (torchvision ``dilated=True`` and
            mmseg decide by the configured stride). None (default): iff
            ``stride == 1 and in_channels == out_channels``.

    Raises:
        ValueError: If ``with_res_shortcut`` is True but the shapes of the
            input and output differ.
    """

    def __init__(self, in_channels, out_channels, mid_channels,
                 kernel_size=3, stride=1, dilation=1, with_se=False,
                 conv_cfg=None, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'), with_cp=False,
                 with_res_shortcut=None):
        super().__init__()
        same_shape = stride == 1 and in_channels == out_channels
        if with_res_shortcut and not same_shape:
            raise ValueError(
                f'with_res_shortcut=True needs stride 1 and in_channels == '
                f'out_channels, got stride={stride}, in_channels='
                f'{in_channels}, out_channels={out_channels}')
        self.with_res_shortcut = same_shape if with_res_shortcut is None \
            else with_res_shortcut
        self.with_cp = with_cp
        self.with_expand_conv = mid_channels != in_channels
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        # An absent optional child is None, so the forward tests it with
        # ``is not None``: free in eager mode (a missing attribute would
        # cost a raised AttributeError per call) and resolved by
        # TorchScript when compiling.
        self.expand_conv = ConvNormAct(
            in_channels, mid_channels, 1, act_cfg=act_cfg, **common
        ) if self.with_expand_conv else None
        self.depthwise_conv = ConvNormAct(
            mid_channels, mid_channels, kernel_size, stride=stride,
            dilation=dilation, groups=mid_channels, act_cfg=act_cfg,
            **common)
        self.se = SELayer(mid_channels) if with_se else None
        self.linear_conv = ConvNormAct(mid_channels, out_channels, 1,
                                       act_cfg=None, **common)

    def _forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return ``(output, expand conv output)``."""
        # Each optional child read once: a submodule read is a Python call.
        expand_conv = self.expand_conv
        se = self.se
        out = x if expand_conv is None else expand_conv(x)
        expanded = out
        out = self.depthwise_conv(out)
        if se is not None:
            out = se(out)
        out = self.linear_conv(out)
        if self.with_res_shortcut:
            # In place where no autograd graph is recorded (no_grad,
            # inference_mode): no new buffer, as torchvision's block adds
            # in place. With grad on, out of place, so that a norm or conv
            # whose backward reads its output (a custom norm_cfg) stays
            # correct.
            out = out + x if torch.is_grad_enabled() else out.add_(x)
        return out, expanded

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # ``with_cp`` first: without checkpointing the test costs one
        # attribute read per call.
        if self.with_cp and not torch.jit.is_scripting() and x.requires_grad:
            return cp.checkpoint(self._forward, x, use_reentrant=False)[0]
        return self._forward(x)[0]

    def forward_with_expand(self, x: torch.Tensor):
        """Return ``(output, expand_conv output)``; the latter is the
        SSDLite "C4" tap (paper Section 6.2) when taken in bneck 13 of
        large. Shapes: ``(N, out_channels, H', W')`` and
        ``(N, mid_channels, H, W)``.

        Raises:
            ValueError: If the block has no expand conv.
        """
        if not self.with_expand_conv:
            raise ValueError('this block has no expand conv '
                             '(mid_channels == in_channels) to tap')
        if self.with_cp and not torch.jit.is_scripting() and x.requires_grad:
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)
