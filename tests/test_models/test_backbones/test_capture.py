"""Every way PyTorch captures a model into a graph, checked against eager
for every arch, conv type and output stride (issue 11)."""
import itertools
import warnings

import numpy as np
import pytest
import torch
import torch.fx
from torch.export import Dim

from mbv3.deploy import export_onnx, onnx_session
from mbv3.models.backbones import MobileNetV3
from tests.test_models.test_classifiers.test_image_classifier import \
    randomise_bn

ARCHS = ('large', 'small', 'small_minimal')
CONVS = ('Conv2d', 'Conv2dSame')
OUTPUT_STRIDES = (32, 16, 8)
OUT_INDICES = (3, 6, -1)
# Captured at CAPTURE_SHAPE, compared with eager there and at CHECK_SHAPE:
# another batch, both parities, so a size baked into the graph shows.
CAPTURE_SHAPE = (2, 3, 67, 83)
CHECK_SHAPE = (3, 3, 64, 98)
# Each arch x conv type once, each output stride twice: the combinations
# the costly paths run on (torch.export and torch.compile take 5-40 s per
# model on the shared 2-core machine).
COVER = {('large', 'Conv2d', 32), ('large', 'Conv2dSame', 8),
         ('small', 'Conv2d', 16), ('small', 'Conv2dSame', 32),
         ('small_minimal', 'Conv2d', 8), ('small_minimal', 'Conv2dSame', 16)}
FULL_SWEEP_PATHS = ('fx', 'feature_extractor', 'jit_script', 'jit_trace',
                    'onnx')
COVER_PATHS = ('export', 'compile')


def build(arch, conv, output_stride, out_indices=OUT_INDICES):
    torch.manual_seed(0)
    model = MobileNetV3(arch, conv_cfg=dict(type=conv),
                        output_stride=output_stride, out_indices=out_indices)
    model.init_weights()
    randomise_bn(model)
    return model.eval()


def _feature_extractor(model, x, tmp_path):
    from torchvision.models.feature_extraction import \
        create_feature_extractor
    names = {f'layer{i}': str(i) for i in model.out_indices}
    extractor = create_feature_extractor(model, names)
    return lambda t: tuple(extractor(t).values())


def _onnx(model, x, tmp_path):
    path = export_onnx(model, str(tmp_path / 'm.onnx'), tuple(x.shape))
    session = onnx_session(path, threads=1)
    return lambda t: tuple(
        torch.from_numpy(o) for o in session.run(None, {'input': t.numpy()}))


def _export(model, x, tmp_path):
    # h, w >= 33: below that the stride-32 map is 1x1, which the graph's
    # shape guards treat apart (torchvision's model needs the same).
    dims = {0: Dim('batch'), 2: Dim('height', min=33),
            3: Dim('width', min=33)}
    return torch.export.export(model, (x, ),
                               dynamic_shapes=(dims, )).module()


CAPTURES = {
    'fx': lambda model, x, tmp_path: torch.fx.symbolic_trace(model),
    'feature_extractor': _feature_extractor,
    'jit_script': lambda model, x, tmp_path: torch.jit.script(model),
    'jit_trace': lambda model, x, tmp_path: torch.jit.trace(
        model, x, check_trace=False),
    'onnx': _onnx,
    'export': _export,
    # dynamo with symbolic shapes, no code generation (inductor's C++
    # build takes minutes per model on this machine)
    'compile': lambda model, x, tmp_path: torch.compile(
        model, dynamic=True, backend='aot_eager'),
}


def _sweep():
    for combo in itertools.product(ARCHS, CONVS, OUTPUT_STRIDES):
        paths = FULL_SWEEP_PATHS + (COVER_PATHS if combo in COVER else ())
        for path in paths:
            marks = () if combo in COVER else (pytest.mark.slow, )
            yield pytest.param(path, *combo, marks=marks,
                               id=f'{path}-{"-".join(map(str, combo))}')


@pytest.mark.parametrize('path,arch,conv,output_stride', _sweep())
def test_capture_equals_eager(path, arch, conv, output_stride, tmp_path,
                              one_thread):
    model = build(arch, conv, output_stride)
    x, y = torch.randn(CAPTURE_SHAPE), torch.randn(CHECK_SHAPE)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FutureWarning)  # jit deprecation
        captured = CAPTURES[path](model, x, tmp_path)
        with torch.no_grad():
            for t in (x, y):
                expected = model(t)
                got = captured(t)
                assert len(got) == len(expected)
                for e, g in zip(expected, got):
                    assert g.shape == e.shape
                    torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)


def test_fx_traces_with_input_checks_in_eager():
    """Issue 11, failing input 1: the eager input checks stopped FX."""
    model = build('small', 'Conv2d', 32, out_indices=(3, 8, 12))
    x = torch.randn(2, 3, 67, 83)
    graph_module = torch.fx.symbolic_trace(model)
    for e, g in zip(model(x), graph_module(x)):
        torch.testing.assert_close(g, e, rtol=0, atol=0)
    from torchvision.models.feature_extraction import \
        create_feature_extractor
    extractor = create_feature_extractor(model, {
        'layer3': 'c3',
        'layer8': 'c4'
    })
    feats = extractor(x)
    assert list(feats) == ['c3', 'c4']
    assert feats['c3'].shape == (2, 24, 9, 11)
    assert feats['c4'].shape == (2, 48, 5, 6)
    torch.testing.assert_close(feats['c4'], model(x)[1], rtol=0, atol=0)
    # eager keeps its checks
    with pytest.raises(ValueError, match='must have 3 channels'):
        model(torch.randn(2, 1, 67, 83))
