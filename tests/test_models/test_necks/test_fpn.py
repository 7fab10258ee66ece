import pytest
import torch

from mbv3.models import FPN

IN_CHANNELS = [24, 48, 96]
SIZES = [28, 14, 7]  # strides 8, 16, 32 of a 224x224 image


def inputs(batch=1):
    return [torch.rand(batch, c, s, s) for c, s in zip(IN_CHANNELS, SIZES)]


@pytest.mark.parametrize('add_extra_convs', ['on_input', 'on_lateral',
                                             'on_output', True])
def test_retinanet_extra_convs(add_extra_convs):
    # mmdet retinanet_r50_fpn neck fields: 256 channels, 5 outputs.
    neck = FPN(IN_CHANNELS, 256, num_outs=5, add_extra_convs=add_extra_convs)
    outs = neck(inputs(2))
    assert [tuple(o.shape) for o in outs] == [
        (2, 256, 28, 28), (2, 256, 14, 14), (2, 256, 7, 7), (2, 256, 4, 4),
        (2, 256, 2, 2)]
    first_extra = 96 if add_extra_convs in ('on_input', True) else 256
    assert neck.fpn_convs[3].conv.in_channels == first_extra


def test_max_pool_levels_start_level_and_mmdet_keys():
    neck = FPN(IN_CHANNELS, 64, num_outs=3, start_level=1)
    outs = neck(inputs())
    assert [o.shape[2] for o in outs] == [14, 7, 4]
    # mmdet's FPN state-dict keys (ConvModule without norm has a bias)
    assert sorted(neck.state_dict()) == [
        'fpn_convs.0.conv.bias', 'fpn_convs.0.conv.weight',
        'fpn_convs.1.conv.bias', 'fpn_convs.1.conv.weight',
        'lateral_convs.0.conv.bias', 'lateral_convs.0.conv.weight',
        'lateral_convs.1.conv.bias', 'lateral_convs.1.conv.weight']


def test_top_down_path_adds_upsampled_coarser_level():
    neck = FPN([4, 4], 4, num_outs=2)
    for conv in list(neck.lateral_convs) + list(neck.fpn_convs):
        torch.nn.init.dirac_(conv.conv.weight)
        torch.nn.init.zeros_(conv.conv.bias)
    fine, coarse = torch.zeros(1, 4, 4, 4), torch.ones(1, 4, 2, 2)
    outs = neck([fine, coarse])
    assert torch.equal(outs[0], torch.ones(1, 4, 4, 4))  # nearest upsample
    assert torch.equal(outs[1], coarse)


def test_end_level_and_norm_act():
    neck = FPN(IN_CHANNELS, 32, num_outs=2, end_level=1,
               norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'))
    outs = neck(inputs())
    assert [o.shape[2] for o in outs] == [28, 14]
    assert hasattr(neck.lateral_convs[0], 'bn')
    assert (outs[0] >= 0).all()


@pytest.mark.parametrize('kwargs,message', [
    (dict(num_outs=2), r'num_outs must be >= 3'),
    (dict(num_outs=3, end_level=1), r'num_outs must be 2 when end_level=1'),
    (dict(num_outs=3, start_level=3), r'start_level must be in \[0, 2\]'),
    (dict(num_outs=5, add_extra_convs='on_top'),
     r"add_extra_convs must be a bool or one of .*got 'on_top'"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FPN(IN_CHANNELS, 16, **kwargs)


def test_wrong_input_channels():
    with pytest.raises(ValueError, match=r'channels \[24, 48, 96\], got '
                       r'\[24, 48\]'):
        FPN(IN_CHANNELS, 16, num_outs=3)(inputs()[:2])
