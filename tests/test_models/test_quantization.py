"""PT2E int8 of a classifier (mbv3.models.quantization): post-training int8
follows fp32 on real photos at two sizes with the SE blocks left float,
bias correction removes the mean error of each int8 layer, QAT keeps the optimizer's parameters and converts for the backend it
recorded, and bad input is refused."""
import copy

import pytest
import torch
from mmengine.config import Config

from mbv3.apis import init_model
from mbv3.deploy.checks import sample_photos
from mbv3.models.input_spec import input_spec
from mbv3.deploy.accuracy import multi_crop
from mbv3.models.quantization import (convert, correct_bias, layer_means,
                                      prepare_ptq, prepare_qat,
                                      quantization_state, quantize_ptq,
                                      quantized_layers)
from tests.conftest import DIGITS_CONFIG

pytest.importorskip('torchao')

SIZES = ((32, 32), (48, 40))


def _digits_cfg():
    cfg = Config.fromfile(DIGITS_CONFIG)
    cfg.model.head.num_classes = cfg.data_preprocessor.num_classes = 10
    return cfg


@pytest.fixture(scope='module')
def digits_model():
    """MobileNetV3-Small of the digits recipe (10 classes), seeded initial
    weights, BN statistics taken from the photos (a train-mode forward at
    each size) so that its activations are not the initial all-zero ones;
    and the photos at :data:`SIZES`."""
    torch.manual_seed(0)
    model = init_model(_digits_cfg())
    photos = [sample_photos(input_spec(model, size)) for size in SIZES]
    model.train()
    with torch.no_grad():
        for x in photos:
            model(x)
    return model.eval(), photos


def _rel(got, expected):
    return float((got - expected).norm() / expected.norm())


def test_post_training_int8_follows_fp32_at_two_sizes(digits_model,
                                                      one_thread):
    model, photos = digits_model
    for x in photos:
        int8 = quantize_ptq(copy.deepcopy(model), [x])
        assert quantization_state(int8) == dict(mode='int8', backend='x86',
                                                recipe='pt2e')
        with torch.no_grad():
            expected, got = model(x), int8(x)
        # measured 0.27% at 32x32 (calibrated on the same photos)
        assert got.shape == expected.shape == (4, 10)
        assert _rel(got, expected) < 0.02
        assert torch.equal(got.argmax(1), expected.argmax(1))
        # any batch size, one image included
        torch.testing.assert_close(int8(x[:1]), got[:1])


def _in_se(node):
    stack = (node.meta.get('nn_module_stack') or {}).values()
    return any('SELayer' in str(module_type) for _, module_type in stack)


def _dequantized(node):
    return isinstance(node, torch.fx.Node) and \
        'dequantize' in str(node.target)


def test_se_blocks_stay_float_and_convs_are_int8(digits_model, one_thread):
    model, photos = digits_model
    int8 = quantize_ptq(copy.deepcopy(model), [photos[0]])
    nodes = list(int8.backbone.graph.nodes)
    convs = [n for n in nodes if n.target is torch.ops.aten.conv2d.default]
    se_convs = [n for n in convs if _in_se(n)]
    # MobileNetV3-Small: 52 convs, 9 SE blocks of 2 convs each
    assert (len(convs), len(se_convs)) == (52, 18)
    # int8 weights (and inputs) everywhere but in the SE blocks
    assert {n for n in convs if _dequantized(n.args[1])} == \
        set(convs) - set(se_convs)
    assert not any(_dequantized(a) for n in se_convs for a in n.args)
    se_muls = [n for n in nodes
               if n.target is torch.ops.aten.mul.Tensor and _in_se(n)]
    assert len(se_muls) == 9
    assert not any(_dequantized(a) for n in se_muls for a in n.args)


def test_qat_keeps_the_optimizers_parameters_and_converts(digits_model,
                                                          one_thread):
    from torchao.quantization.pt2e import disable_observer
    model, photos = digits_model
    model = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = {id(p) for group in optimizer.param_groups
              for p in group['params']}
    prepare_qat(model, photos[0])
    assert {id(p) for p in model.parameters()} == before
    assert model.training
    model(photos[0]).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    model.apply(disable_observer)
    with torch.no_grad():
        fake = model(photos[0])
    convert(model)
    with torch.no_grad():
        int8 = model(photos[0])
    # the int8 graph computes what fake quantization simulated: measured
    # 8.4% on these near-zero logits (|logit| < 0.03) of one QAT step
    assert _rel(int8, fake) < 0.15
    assert torch.equal(int8.argmax(1), fake.argmax(1))
    assert quantization_state(model)['mode'] == 'int8'


def test_convert_uses_the_recorded_backend(digits_model):
    model, photos = digits_model
    model = copy.deepcopy(model)
    with pytest.raises(ValueError, match='convert needs a model from '
                       'prepare_qat or prepare_ptq'):
        convert(model)
    prepare_ptq(model, photos[0])
    with pytest.raises(ValueError, match="backend='qnnpack' differs from the "
                       "backend the model was prepared for, 'x86'"):
        convert(model, backend='qnnpack')
    with pytest.raises(ValueError, match='already prepared'):
        prepare_qat(model, photos[0])
    with torch.no_grad():
        model(photos[0])
    convert(model, backend='x86')
    with pytest.raises(ValueError, match='already converted to int8'):
        convert(model)


def test_bad_input_is_refused(digits_model):
    model, photos = digits_model
    with pytest.raises(ValueError, match=r"backend must be one of \('x86',\)"
                       r", got 'qnnpack' \(the FX graph mode backends .*"
                       r'retired.*ExecuTorch'):
        prepare_qat(copy.deepcopy(model), photos[0], backend='qnnpack')
    with pytest.raises(TypeError, match='must be a classifier with a '
                       'backbone.*got Linear'):
        prepare_qat(torch.nn.Linear(2, 2), photos[0])
    with pytest.raises(TypeError, match=r'inputs must be a \(N, C, H, W\) '
                       r'Tensor, got torch.Size\(\[3, 32, 32\]\)'):
        prepare_ptq(copy.deepcopy(model), photos[0][0])
    with pytest.raises(ValueError, match='at least one calibration batch'):
        quantize_ptq(copy.deepcopy(model), [])


@pytest.mark.parametrize('backbone, message', [
    (dict(norm_eval=True), 'BN layers in train mode, got norm_eval=True'),
    (dict(frozen_stages=3), 'fine-tunes every layer, got frozen_stages=3'),
])
def test_qat_refuses_what_the_exported_graph_would_train(backbone, message):
    # the graph has no MobileNetV3.train override: the frozen BNs would
    # update
    cfg = _digits_cfg()
    cfg.model.backbone.update(backbone)
    model = init_model(cfg)
    with pytest.raises(ValueError, match=message):
        prepare_qat(model, torch.zeros(2, 3, 32, 32))
    with torch.inference_mode(), pytest.raises(
            ValueError, match='outside torch.inference_mode'):
        prepare_ptq(model, torch.zeros(2, 3, 32, 32))


def test_checkpoint_meta_and_tensors_must_agree(digits_model, tmp_path):
    model, photos = digits_model
    model = copy.deepcopy(model)
    float_sd = {k: v.clone() for k, v in model.state_dict().items()}
    prepare_qat(model, photos[0])
    qat_sd = model.state_dict()
    meta = dict(quantization=dict(mode='qat', backend='x86', recipe='pt2e'))
    cases = [
        (qat_sd, {}, 'holds fake-quantized tensors but no '
         r"meta\['quantization'\]"),
        (float_sd, meta, r"has meta\['quantization'\] but no "
         'fake-quantized tensors'),
        (qat_sd, dict(quantization=dict(mode='ptq', backend='x86')),
         r"must be dict\(mode='qat', backend=..., recipe='pt2e'\).*got "
         r"\{'mode': 'ptq'"),
        (qat_sd, dict(quantization='qat'), "got 'qat'"),
        # what the FX graph mode QAT recipes wrote
        (qat_sd, dict(quantization=dict(mode='qat', backend='qnnpack')),
         'retired FX graph mode recipe.*re-run the QAT recipe '
         r'\(configs/mobilenet_v3/mobilenet-v3-small_digits_qat.py'),
    ]
    for i, (state_dict, meta_i, message) in enumerate(cases):
        path = str(tmp_path / f'{i}.pth')
        torch.save(dict(state_dict=state_dict, meta=meta_i), path)
        with pytest.raises(ValueError, match=message):
            init_model(_digits_cfg(), path)


def _mean_errors(expected, got):
    return sum(float((expected[k] - got[k]).norm()) for k in expected)


def test_bias_correction_removes_the_mean_error_of_each_layer(
        digits_model, one_thread):
    model, photos = digits_model
    model = copy.deepcopy(model)
    # calibration: 7 crops of each photo; held out: the same crops mirrored
    calib = multi_crop(photos[0])
    held_out = calib.flip(-1).contiguous()
    prepare_ptq(model, calib)
    with torch.no_grad():
        model(calib)
    part = model.backbone
    layers = quantized_layers(part)
    depthwise = quantized_layers(part, 'depthwise')
    # MobileNetV3-Small: 34 int8 convs (52 less the 18 SE convs), one
    # depthwise conv in each of its 11 bneck blocks
    assert (len(layers), len(depthwise)) == (34, 11)
    reference = layer_means(part, calib, layers)
    float_held_out = layer_means(part, held_out, layers)
    part = convert(model).backbone
    before = layer_means(part, held_out, layers)
    shifts = correct_bias(part, calib, reference)
    assert sorted(shifts) == sorted(layers)
    # in graph order, each layer after the earlier ones' corrections: on
    # the calibration images every int8 layer's mean is the float one
    corrected = layer_means(part, calib, layers)
    for name in layers:
        torch.testing.assert_close(corrected[name], reference[name],
                                   rtol=0, atol=1e-5)
    # and on images it did not see the error of the means shrinks:
    # measured 0.021 -> 0.0023 (norms summed over the 34 layers)
    error_before = _mean_errors(float_held_out, before)
    error_after = _mean_errors(float_held_out,
                               layer_means(part, held_out, layers))
    assert error_after < 0.25 * error_before


def test_bias_correction_adds_a_bias_where_a_layer_has_none(digits_model,
                                                            one_thread):
    model, photos = digits_model
    model = copy.deepcopy(model)
    model.head.layers[1].fc.bias = None
    calib = multi_crop(photos[0])
    with torch.no_grad():
        expected = model(calib).double().mean(0)
    int8 = quantize_ptq(model, [calib], bias_correction='all')
    logits = int8.head.layers[1]
    (name, ) = quantized_layers(logits)
    assert getattr(logits, f'{name}_bias').shape == (10, )
    # the last layer is corrected too: its per-class mean is fp32's
    with torch.no_grad():
        got = int8(calib).double().mean(0)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)


def test_default_bias_correction_is_that_of_the_depthwise_convs(
        digits_model, one_thread):
    model, photos = digits_model
    plain = quantize_ptq(copy.deepcopy(model), [photos[0]],
                         bias_correction=None)
    corrected = quantize_ptq(copy.deepcopy(model), [photos[0]])
    changed = {name for name, value in corrected.state_dict().items()
               if not torch.equal(value, plain.state_dict()[name])}
    nodes = {n.name: n for n in corrected.backbone.graph.nodes}
    depthwise = {'backbone.' + nodes[name].args[2].target
                 for name in quantized_layers(corrected.backbone,
                                              'depthwise')}
    assert len(depthwise) == 11
    assert changed == depthwise


def test_bias_correction_refuses_bad_input(digits_model):
    model, photos = digits_model
    with pytest.raises(ValueError, match=r"bias_correction must be one of "
                       r"\('depthwise', 'all', None\), got 'fast'"):
        quantize_ptq(copy.deepcopy(model), [photos[0]],
                     bias_correction='fast')
    int8 = quantize_ptq(copy.deepcopy(model), [photos[0]],
                        bias_correction=None)
    with pytest.raises(ValueError, match=r"scope must be 'all' or "
                       r"'depthwise', got 'pointwise'"):
        quantized_layers(int8.backbone, 'pointwise')
    with pytest.raises(ValueError, match=r"reference names \['relu_'\], "
                       r'which are not int8 layers of this part'):
        correct_bias(int8.backbone, photos[0],
                     {'relu_': torch.zeros(16, dtype=torch.float64)})
