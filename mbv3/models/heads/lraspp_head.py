"""Lite Reduced Atrous Spatial Pyramid Pooling (LR-ASPP) segmentation head
(Howard et al., "Searching for MobileNetV3", 2019, Section 6.3, Fig. 10).
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from mbv3.registry import MODELS
from mbv3.utils.checks import check_int, check_pair
from ..layers import ConvNormAct

# Fig. 10 of the paper: the attention branch pools with a 49x49 kernel and
# a (16, 20) stride over the 1/16 features of 1024x2048 Cityscapes images.
PAPER_POOL_KERNEL = (49, 49)
PAPER_POOL_STRIDE = (16, 20)


@MODELS.register_module()
class LRASPPHead(BaseModule):
    """The paper's LR-ASPP, for any input size.

    On the last (high-level) input: a 1x1 conv + norm + ReLU branch to
    ``channels``, multiplied by an attention branch (average pooling, 1x1
    conv, sigmoid, bilinear resize back); a 1x1 conv maps the product to
    ``num_classes``. Each earlier (low-level) input, coarsest first, adds a
    1x1 conv of itself to the class logits upsampled to its size. With
    one low-level input (the paper's 1/8 features) this is Fig. 10, and
    torchvision's ``LRASPPHead`` computes the same function when
    ``pool_kernel=None``.

    Pooling: the paper's 49x49 kernel, stride (16, 20), with the kernel
    clamped to the feature map: a map smaller than the kernel is pooled
    globally. mmseg's ``LRASPPHead`` uses the fixed kernel and fails on
    maps under 49 pixels (inputs under ~400 pixels at output stride 8);
    this one runs at 64x64, 97x97 or 512x1024 alike. ``pool_kernel=None``
    always pools globally (torchvision).

    Shape: tuple of ``(N, in_channels[i], H_i, W_i)`` (finest first) ->
    ``(N, num_classes, H_0, W_0)``, the size of the first selected input.

    Args:
        in_channels (Sequence[int]): Channels of the selected inputs: low
            level first, high level last, e.g. ``(40, 960)`` for mbv3 large
            ``out_indices=(4, 16)`` (torchvision's lraspp taps).
        num_classes (int): Output classes.
        channels (int): Width of the high-level branch. Defaults to 128
            (the paper's).
        in_index (Sequence[int], optional): Which backbone outputs to use;
            None uses all of them, in order.
        pool_kernel (int | tuple[int, int] | None): Largest pooling kernel
            ``(h, w)`` in feature pixels; None pools globally.
        pool_stride (int | tuple[int, int]): Pooling stride ``(h, w)``.
        dropout_ratio (float): Dropout before the high-level classifier.
            Defaults to 0.
        norm_cfg (dict): Norm of the high-level branch. Defaults to BN.
        act_cfg (dict): Activation of the high-level branch. ReLU.
        align_corners (bool): ``F.interpolate`` flag of the resizes.
        init_cfg (dict, optional): mmengine init config.

    Raises:
        ValueError: For fewer than two ``in_channels``, an ``in_index`` of
            another length, bad pooling sizes, ``num_classes`` < 1, or
            inputs whose channels differ from ``in_channels``.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 num_classes: int,
                 channels: int = 128,
                 in_index: Optional[Sequence[int]] = None,
                 pool_kernel=PAPER_POOL_KERNEL,
                 pool_stride=PAPER_POOL_STRIDE,
                 dropout_ratio: float = 0.0,
                 norm_cfg=dict(type='mbv3.BN'),
                 act_cfg=dict(type='mbv3.ReLU'),
                 align_corners: bool = False,
                 init_cfg=None):
        super().__init__(init_cfg)
        if isinstance(in_channels, int) or len(in_channels) < 2:
            raise ValueError(f'LRASPPHead in_channels must list at least a '
                             f'low-level and a high-level width, got '
                             f'{in_channels!r}')
        if in_index is not None and len(in_index) != len(in_channels):
            raise ValueError(f'LRASPPHead in_index must have one entry per '
                             f'in_channels ({len(in_channels)}), got '
                             f'{in_index!r}')
        check_int('LRASPPHead num_classes', num_classes, low=1)
        self.in_channels = tuple(in_channels)
        self.num_classes = num_classes
        self.in_index = None if in_index is None else tuple(in_index)
        self.pool_kernel = None if pool_kernel is None else check_pair(
            'LRASPPHead pool_kernel', pool_kernel)
        self.pool_stride = check_pair('LRASPPHead pool_stride', pool_stride)
        self.align_corners = align_corners

        high = self.in_channels[-1]
        self.aspp_conv = ConvNormAct(high, channels, 1, norm_cfg=norm_cfg,
                                     act_cfg=act_cfg)
        self.image_pool = nn.Sequential(
            nn.Conv2d(high, channels, 1, bias=False), nn.Sigmoid())
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 \
            else nn.Identity()
        self.high_classifier = nn.Conv2d(channels, num_classes, 1)
        self.low_classifiers = nn.ModuleList(
            nn.Conv2d(c, num_classes, 1) for c in self.in_channels[:-1])

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Class logits at the resolution of the finest selected input.

        Args:
            inputs (Sequence[Tensor]): Backbone outputs.

        Returns:
            Tensor: ``(N, num_classes, H_0, W_0)``.

        Raises:
            ValueError: If the selected inputs' channels differ from
                ``in_channels``.
        """
        feats = self._select(inputs)
        high = feats[-1]
        x = self.aspp_conv(high) * self._resize(
            self.image_pool(self._pool(high)), high.shape[2:])
        logits = self.high_classifier(self.dropout(x))
        for low, classifier in zip(feats[-2::-1],
                                   self.low_classifiers[::-1]):
            logits = self._resize(logits, low.shape[2:]) + classifier(low)
        return logits

    def _select(self, inputs) -> Tuple[torch.Tensor, ...]:
        if self.in_index is not None:
            inputs = [inputs[i] for i in self.in_index]
        got = tuple(x.shape[1] for x in inputs)
        if got != self.in_channels:
            raise ValueError(f'LRASPPHead expects inputs with channels '
                             f'{self.in_channels}, got {got}')
        return tuple(inputs)

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool_kernel is None:
            return x.mean((2, 3), keepdim=True)
        kernel = (min(self.pool_kernel[0], x.shape[2]),
                  min(self.pool_kernel[1], x.shape[3]))
        return F.avg_pool2d(x, kernel, self.pool_stride)

    def _resize(self, x: torch.Tensor, size) -> torch.Tensor:
        if tuple(x.shape[2:]) == tuple(size):
            return x
        return F.interpolate(x, size=tuple(size), mode='bilinear',
                             align_corners=self.align_corners)
