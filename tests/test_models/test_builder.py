"""Necks and heads whose config leaves out ``in_channels`` are sized from
the backbone's description of its outputs."""
import pytest
from torch import nn

from mbv3.registry import MODELS


class LateralNeck(nn.Module):
    """A neck that takes ``in_channels`` (one 1x1 conv per input)."""

    def __init__(self, in_channels, out_channels, num_outs):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.laterals = nn.ModuleList(
            nn.Conv2d(c, out_channels, 1) for c in in_channels)

    def forward(self, feats):
        return tuple(conv(f) for conv, f in zip(self.laterals, feats))


@pytest.mark.parametrize('given', [{}, dict(in_channels=None)])
def test_classifier_head_takes_the_backbone_width(given):
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='MobileNetV3', arch='large'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='StackedLinearClsHead', num_classes=10,
                  mid_channels=[1280], **given)))
    # 960: the last conv of large (paper Table 1)
    assert model.head.layers[0].fc.in_features == 960


def test_segmentor_neck_and_head_take_the_widths_that_feed_them():
    model = MODELS.build(dict(
        type='EncoderDecoder',
        backbone=dict(type='MobileNetV3', arch='small', out_indices=(3, 12),
                      output_stride=16),
        decode_head=dict(type='LRASPPHead', num_classes=2, channels=32)))
    # layer 3 and the last conv of small: 24 and 576 (paper Table 2)
    assert model.decode_head.in_channels == (24, 576)
    with_neck = MODELS.build(dict(
        type='EncoderDecoder',
        backbone=dict(type='MobileNetV3', arch='small', out_indices=(3, 12),
                      output_stride=16),
        neck=dict(type=LateralNeck, out_channels=16, num_outs=2),
        decode_head=dict(type='LRASPPHead', num_classes=2, channels=32)))
    assert list(with_neck.neck.in_channels) == [24, 576]
    assert with_neck.decode_head.in_channels == (16, 16)
