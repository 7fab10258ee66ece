import math
import warnings

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from mbv3.models import MobileNetV3

# Channels and strides of layer i (torchvision features[i]), from the
# paper's Tables 1 and 2 (#out column; the last conv is 960 / 576).
LARGE_CHANNELS = [16, 16, 24, 24, 40, 40, 40, 80, 80, 80, 80, 112, 112, 160,
                  160, 160, 960]
LARGE_STRIDES = [2, 2, 4, 4, 8, 8, 8, 16, 16, 16, 16, 16, 16, 32, 32, 32, 32]
SMALL_CHANNELS = [16, 16, 24, 24, 40, 40, 40, 48, 48, 96, 96, 96, 576]
SMALL_STRIDES = [2, 4, 8, 8, 16, 16, 16, 16, 16, 32, 32, 32, 32]
EXPECTED = dict(large=(LARGE_CHANNELS, LARGE_STRIDES),
                small=(SMALL_CHANNELS, SMALL_STRIDES))


@pytest.mark.parametrize('arch', ['large', 'small'])
@pytest.mark.parametrize('size', [(224, 224), (300, 451)])
def test_every_out_index_shape(arch, size):
    channels, strides = EXPECTED[arch]
    model = MobileNetV3(arch, out_indices=range(len(channels))).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, *size))
    assert len(outs) == len(channels)
    for i, out in enumerate(outs):
        s = strides[i]
        assert out.shape == (1, channels[i], math.ceil(size[0] / s),
                             math.ceil(size[1] / s)), f'layer{i}'
    assert [f.channels for f in model.feature_info] == channels
    assert [f.stride for f in model.feature_info] == strides


def test_default_out_index_is_last_layer_and_returns_tuple():
    model = MobileNetV3('small').eval()
    outs = model(torch.rand(2, 3, 64, 64))
    assert isinstance(outs, tuple) and len(outs) == 1
    assert outs[0].shape == (2, 576, 2, 2)
    assert model.out_indices == (12, )


def test_negative_and_unordered_out_indices():
    model = MobileNetV3('large', out_indices=(-1, 3)).eval()
    outs = model(torch.rand(1, 3, 64, 64))
    assert model.out_indices == (16, 3)
    assert [o.shape[1] for o in outs] == [960, 24]


def test_out_strides_select_last_layer_per_stride():
    model = MobileNetV3('large', out_strides=(4, 8, 16, 32))
    assert model.out_indices == (3, 6, 12, 16)
    assert model.out_channels == (24, 40, 112, 960)


def test_expand_tap_is_ssdlite_c4():
    # torchvision ssdlite320_mobilenet_v3_large taps features[13].block[0]:
    # 672 channels at stride 16.
    model = MobileNetV3('large', out_indices=('13.expand', 16)).eval()
    outs = model(torch.rand(1, 3, 320, 320))
    assert outs[0].shape == (1, 672, 20, 20)
    assert outs[1].shape == (1, 960, 10, 10)
    assert model.feature_info[0].channels == 672
    assert model.feature_info[0].stride == 16


@pytest.mark.parametrize('widen_factor,channels', [
    # torchvision mobilenet_v3_large(width_mult=...) widths of features[i]
    (0.5, [8, 8, 16, 16, 24, 24, 24, 40, 40, 40, 40, 56, 56, 80, 80, 80,
           480]),
    (0.75, [16, 16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 88, 88, 120, 120,
            120, 720]),
    (1.0, LARGE_CHANNELS),
])
def test_widen_factor_widths(widen_factor, channels):
    model = MobileNetV3('large', widen_factor=widen_factor,
                        out_indices=range(17)).eval()
    outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == channels


def test_widen_factor_matches_torchvision_param_count():
    torchvision = pytest.importorskip('torchvision')
    for width in (0.5, 0.75):
        tv = torchvision.models.mobilenet_v3_large(width_mult=width)
        ours = MobileNetV3('large', widen_factor=width)
        assert sum(p.numel() for p in ours.parameters()) == sum(
            p.numel() for p in tv.features.parameters())


def test_custom_arch_table():
    table = [
        (3, 16, 16, True, 'ReLU', 2),
        (5, 64, 32, False, 'HSwish', 2),
        (5, 96, 32, True, 'HSwish', 1),
    ]
    model = MobileNetV3(table, out_indices=(1, 2, 3, 4)).eval()
    outs = model(torch.rand(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 16, 16, 16),
                                              (1, 32, 8, 8), (1, 32, 8, 8),
                                              (1, 192, 8, 8)]
    assert model.layer3.with_res_shortcut


def test_mmpretrain_names_accepted():
    for arch, last in (('small_075', 432), ('small_050', 288)):
        assert MobileNetV3(arch).out_channels == (last, )


@pytest.mark.parametrize('kwargs,message', [
    (dict(arch='medium'), r"arch must be one of .* got 'medium'"),
    (dict(arch='small_large'), r"arch must be one of .* got 'small_large'"),
    (dict(arch=[]), r'at least one row'),
    (dict(arch=[(4, 16, 16, True, 'ReLU', 2)]), r'kernel_size must be an '
     r'odd int >= 1, got 4'),
    (dict(arch=[(3, 16, 16, True, 'GELU', 2)]), r"act must be 'ReLU' or "
     r"'HSwish', got 'GELU'"),
    (dict(arch=[(3, 16, 16, True, 'ReLU', 3)]), r'stride must be 1 or 2, '
     r'got 3'),
    (dict(out_indices=13), r'out_indices entry must be an int in '
     r'\[-13, 12\].*got 13'),
    (dict(out_indices=(-14, )), r'got -14'),
    (dict(out_indices=(1, 1)), r'must not repeat'),
    (dict(out_indices=(1, -12)), r'must not repeat'),
    (dict(out_indices=()), r'non-empty'),
    (dict(out_indices=('1.expand', )), r"'<i>.expand'.*got '1.expand'"),
    (dict(out_indices=(1.5, )), r'got 1.5'),
    (dict(frozen_stages=13), r'frozen_stages must be an int in \[-1, 12\], '
     r'got 13'),
    (dict(frozen_stages=-2), r'got -2'),
    (dict(widen_factor=0), r'widen_factor must be a finite float > 0, got '
     r'0'),
    (dict(widen_factor=-0.5), r'got -0.5'),
    (dict(widen_factor='1.0'), r"got '1.0'"),
    (dict(out_strides=(64, )), r'out_strides entry 64'),
])
def test_bad_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MobileNetV3(**kwargs)


@pytest.mark.parametrize(
    'line', ['3 16 16 SE XX 1', '3 16 16 - RE', '3 x 16 - RE 1'])
def test_a_typo_in_a_built_in_table_names_its_row(line):
    from mbv3.models.backbones.mobilenet_v3 import _table
    with pytest.raises(ValueError, match=rf"^arch table row 1 '{line}' must "
                       r"be: kernel, exp size, #out \(ints\), SE \('SE', "
                       r"'-'\), NL \('RE', 'HS'\), s \(int\)$"):
        _table(f'3 16 16 - RE 1\n{line}')
    assert _table('3 16 16 SE HS 2')[0].act == 'HSwish'


def test_arch_of_wrong_type():
    with pytest.raises(TypeError, match='arch must be a str or a sequence'):
        MobileNetV3(arch=3)


@pytest.mark.parametrize('x,error,message', [
    (torch.rand(3, 64, 64), ValueError, r'4-D .*got shape \(3, 64, 64\)'),
    (torch.rand(1, 1, 64, 64), ValueError, r'3 channels .*\(1, 1, 64, 64\)'),
    (torch.rand(0, 3, 64, 64), ValueError, r'batch is empty'),
    (torch.zeros(1, 3, 64, 64, dtype=torch.uint8), TypeError,
     r'floating point, got torch.uint8'),
])
def test_bad_input_errors(x, error, message):
    with pytest.raises(error, match=message):
        MobileNetV3('small')(x)


def test_frozen_stages_and_train_returns_self():
    model = MobileNetV3('small', frozen_stages=2)
    assert model.train() is model
    for i in range(3):
        layer = getattr(model, f'layer{i}')
        assert not layer.training
        assert all(not p.requires_grad for p in layer.parameters())
        assert all(not m.training for m in layer.modules()
                   if isinstance(m, _BatchNorm))
    assert model.layer3.training
    assert all(p.requires_grad for p in model.layer3.parameters())
    assert MobileNetV3().eval().training is False


def test_norm_eval_keeps_bn_in_eval_mode():
    model = MobileNetV3('small', norm_eval=True).train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and all(not bn.training for bn in bns)
    before = model.layer1.depthwise_conv.bn.running_mean.clone()
    model(torch.rand(2, 3, 32, 32))
    torch.testing.assert_close(model.layer1.depthwise_conv.bn.running_mean,
                               before)


def test_with_cp_same_outputs_and_gradients():
    torch.manual_seed(0)
    model = MobileNetV3('small', out_indices=(3, 12)).train()
    model_cp = MobileNetV3('small', out_indices=(3, 12), with_cp=True).train()
    model_cp.load_state_dict(model.state_dict())
    x = torch.rand(2, 3, 64, 64)
    outs = model(x)
    outs_cp = model_cp(x)
    for a, b in zip(outs, outs_cp):
        torch.testing.assert_close(a, b)
    sum(o.square().mean() for o in outs).backward()
    sum(o.square().mean() for o in outs_cp).backward()
    for (name, p), p_cp in zip(model.named_parameters(),
                               model_cp.parameters()):
        torch.testing.assert_close(p.grad, p_cp.grad, msg=name)


def test_build_emits_no_warnings():
    from mbv3.registry import MODELS
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        for arch in ('large', 'small'):
            MODELS.build(dict(type='MobileNetV3', arch=arch))
        MODELS.build(
            dict(type='ImageClassifier',
                 backbone=dict(type='MobileNetV3', arch='small'),
                 neck=dict(type='GlobalAveragePooling'),
                 head=dict(type='StackedLinearClsHead', num_classes=10,
                           in_channels=576, mid_channels=[1024])))


def test_reassigning_out_indices_revalidates_and_replans():
    model = MobileNetV3('small').eval()
    model.out_indices = (-1, 3)
    assert model.out_indices == (12, 3)
    outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [576, 24]
    with pytest.raises(ValueError, match='got 13'):
        model.out_indices = (13, )



def test_select_outputs_is_the_whole_grammar_without_building():
    from mbv3.models.backbones import LayerSpec, plan_layers, select_outputs
    _, plans, _, specs = plan_layers('large', output_stride=16)
    outputs = select_outputs(plans, specs, (-4, '-4.expand', 0))
    # large, output stride 16: layer 13 is paper Table 1's row 13
    # (5x5, exp 672, #out 160, s 2), its stride 2 turned into dilation 2;
    # its expand conv sees the stride-16 input
    assert outputs == (LayerSpec(13, 'output', 160, 16, 2),
                       LayerSpec(13, 'expand', 672, 16, 1),
                       LayerSpec(0, 'output', 16, 2, 1))
    assert [o.index for o in outputs] == [13, '13.expand', 0]
    assert select_outputs(plans, specs, out_strides=(8, 16)) == (
        specs[6], specs[16])
    with pytest.raises(ValueError, match='out_indices must not repeat a '
                       r"layer, got \(13, '13.expand', -4\)"):
        select_outputs(plans, specs, (13, '13.expand', -4))
    # the model reads the same description
    model = MobileNetV3('large', out_indices=(-4, '-4.expand', 0),
                        output_stride=16)
    assert model.feature_info == outputs
    assert model.output_specs('13.expand') == outputs[1:2]
