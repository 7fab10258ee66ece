"""Feature Pyramid Network neck (Lin et al., "Feature Pyramid Networks for
Object Detection", CVPR 2017, arXiv 1612.03144)."""
from typing import Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from mbv3.registry import MODELS
from ..layers import ConvNormAct

EXTRA_CONV_SOURCES = ('on_input', 'on_lateral', 'on_output')


@MODELS.register_module()
class FPN(BaseModule):
    """FPN with mmdet's ``FPN`` config fields and state-dict keys
    (``lateral_convs.{i}.conv``, ``fpn_convs.{i}.conv``), so mmdet neck
    configs carry over unchanged.

    Levels ``start_level .. end_level`` of the inputs get a 1x1 lateral conv
    to ``out_channels``; the top-down path adds each level, upsampled, to the
    one below; a 3x3 conv smooths each sum. ``num_outs`` beyond the used
    levels are made by stride-2 max pooling of the last output
    (Faster R-CNN) or, with ``add_extra_convs``, by stride-2 3x3 convs
    (RetinaNet).

    Shape: tuple of ``(N, in_channels[i], H_i, W_i)`` -> tuple of
    ``num_outs`` tensors ``(N, out_channels, H_j, W_j)``; output ``j`` has
    the size of input ``start_level + j``, extra levels halve it
    (``ceil``) each time.

    Args:
        in_channels (Sequence[int]): Channels of each input, e.g. a
            backbone's ``out_channels``.
        out_channels (int): Channels of every output.
        num_outs (int): Number of outputs.
        start_level (int): First input level used. Defaults to 0.
        end_level (int): Last input level used (inclusive); -1 is the last.
            When it is not the last, ``num_outs`` must equal the used levels.
        add_extra_convs (bool | str): False: extra levels by max pooling.
            True or 'on_input': stride-2 convs, the first on the last used
            input; 'on_lateral' / 'on_output': the first on the last
            lateral / output.
        relu_before_extra_convs (bool): ReLU before every extra conv but
            the first. Defaults to False.
        no_norm_on_lateral (bool): No norm in the lateral convs.
        conv_cfg (dict, optional): Conv config.
        norm_cfg (dict, optional): Norm config; None (default) adds none.
        act_cfg (dict, optional): Activation config; None (default) adds
            none.
        upsample_cfg (dict): ``F.interpolate`` arguments of the top-down
            path. Defaults to ``dict(mode='nearest')`` to the size of the
            level below.
        init_cfg (dict): Defaults to uniform Xavier for convs (mmdet's).

    Raises:
        ValueError: For inconsistent levels, ``num_outs`` or
            ``add_extra_convs``, and inputs of the wrong count or widths.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int,
                 num_outs: int,
                 start_level: int = 0,
                 end_level: int = -1,
                 add_extra_convs: Union[bool, str] = False,
                 relu_before_extra_convs: bool = False,
                 no_norm_on_lateral: bool = False,
                 conv_cfg=None,
                 norm_cfg=None,
                 act_cfg=None,
                 upsample_cfg=dict(mode='nearest'),
                 init_cfg=dict(type='Xavier', layer='Conv2d',
                               distribution='uniform')):
        super().__init__(init_cfg)
        self.in_channels = _check_in_channels(in_channels)
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.start_level = start_level
        self.backbone_end_level = _end_level(self.in_channels, num_outs,
                                             start_level, end_level)
        self.add_extra_convs = _extra_conv_source(add_extra_convs)
        self.relu_before_extra_convs = relu_before_extra_convs
        self.upsample_cfg = dict(upsample_cfg)

        common = dict(conv_cfg=conv_cfg, act_cfg=act_cfg)
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for i in range(start_level, self.backbone_end_level):
            self.lateral_convs.append(
                ConvNormAct(self.in_channels[i], out_channels, 1,
                            norm_cfg=None if no_norm_on_lateral else norm_cfg,
                            **common))
            self.fpn_convs.append(
                ConvNormAct(out_channels, out_channels, 3, norm_cfg=norm_cfg,
                            **common))
        used = self.backbone_end_level - start_level
        if self.add_extra_convs:
            for i in range(num_outs - used):
                source = self.in_channels[self.backbone_end_level - 1] \
                    if i == 0 and self.add_extra_convs == 'on_input' \
                    else out_channels
                self.fpn_convs.append(
                    ConvNormAct(source, out_channels, 3, stride=2,
                                norm_cfg=norm_cfg, **common))

    def forward(self, inputs: Sequence[torch.Tensor]
                ) -> Tuple[torch.Tensor, ...]:
        """Build the pyramid.

        Args:
            inputs (Sequence[Tensor]): ``len(in_channels)`` maps, finest
                first.

        Returns:
            tuple[Tensor]: ``num_outs`` maps of ``out_channels``.

        Raises:
            ValueError: If the count or channels of ``inputs`` differ from
                ``in_channels``.
        """
        got = [x.shape[1] for x in inputs]
        if got != list(self.in_channels):
            raise ValueError(f'FPN expects inputs with channels '
                             f'{list(self.in_channels)}, got {got}')
        laterals = [conv(inputs[self.start_level + i])
                    for i, conv in enumerate(self.lateral_convs)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + self._upsample(
                laterals[i], laterals[i - 1].shape[2:])
        used = len(laterals)
        outs = [self.fpn_convs[i](laterals[i]) for i in range(used)]
        if not self.add_extra_convs:
            while len(outs) < self.num_outs:
                outs.append(F.max_pool2d(outs[-1], 1, stride=2))
            return tuple(outs)
        if len(outs) < self.num_outs:
            source = {
                'on_input': inputs[self.backbone_end_level - 1],
                'on_lateral': laterals[-1],
                'on_output': outs[-1],
            }[self.add_extra_convs]
            outs.append(self.fpn_convs[used](source))
        for i in range(used + 1, self.num_outs):
            x = F.relu(outs[-1]) if self.relu_before_extra_convs \
                else outs[-1]
            outs.append(self.fpn_convs[i](x))
        return tuple(outs)

    def _upsample(self, x, size):
        if 'scale_factor' in self.upsample_cfg:
            return F.interpolate(x, **self.upsample_cfg)
        return F.interpolate(x, size=size, **self.upsample_cfg)


def _check_in_channels(in_channels):
    if isinstance(in_channels, int) or not isinstance(in_channels, Sequence) \
            or not in_channels or not all(
                isinstance(c, int) and c > 0 for c in in_channels):
        raise ValueError(f'FPN in_channels must be a non-empty list of '
                         f'positive ints, got {in_channels!r}')
    return list(in_channels)


def _end_level(in_channels, num_outs, start_level, end_level):
    """The level after the last used one (mmdet's ``backbone_end_level``).
    """
    num_ins = len(in_channels)
    if not 0 <= start_level < num_ins:
        raise ValueError(f'FPN start_level must be in [0, {num_ins - 1}], '
                         f'got {start_level!r}')
    if end_level in (-1, num_ins - 1):
        if num_outs < num_ins - start_level:
            raise ValueError(
                f'FPN num_outs must be >= {num_ins - start_level} (the used '
                f'input levels), got {num_outs!r}')
        return num_ins
    if not start_level <= end_level < num_ins:
        raise ValueError(f'FPN end_level must be -1 or in [{start_level}, '
                         f'{num_ins - 1}], got {end_level!r}')
    if num_outs != end_level - start_level + 1:
        raise ValueError(
            f'FPN num_outs must be {end_level - start_level + 1} when '
            f'end_level={end_level} is not the last level, got {num_outs!r}')
    return end_level + 1


def _extra_conv_source(add_extra_convs):
    if add_extra_convs is True:
        return 'on_input'
    if add_extra_convs is False or add_extra_convs in EXTRA_CONV_SOURCES:
        return add_extra_convs
    raise ValueError(f'FPN add_extra_convs must be a bool or one of '
                     f'{EXTRA_CONV_SOURCES}, got {add_extra_convs!r}')
