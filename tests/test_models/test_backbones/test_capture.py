"""Every way PyTorch captures a model into a graph, checked against eager
for every arch, conv type and output stride (issue 11)."""
import itertools
import re
import warnings

import numpy as np
import pytest
import torch
import torch.fx
import torch.nn.functional as F
from torch._dynamo.utils import counters
from torch.export import Dim

from mbv3.deploy import export_onnx, onnx_session
from mbv3.models.backbones import MobileNetV3
from tests.test_models.test_classifiers.test_image_classifier import \
    randomise_bn

ARCHS = ('large', 'small', 'small_minimal')
CONVS = ('Conv2d', 'Conv2dSame')
OUTPUT_STRIDES = (32, 16, 8)
OUT_INDICES = (3, 6, -1)
# Captured at CAPTURE_SIZE, compared with eager there and at CHECK_SIZE
# (with another batch): odd and even, so a size baked into the graph shows.
CAPTURE_SIZE = (67, 83)
CHECK_SIZE = (64, 98)
# Each arch x conv type once, each output stride twice: they run by default,
# the other combinations are marked slow.
COVER = {('large', 'Conv2d', 16), ('large', 'Conv2dSame', 8),
         ('small', 'Conv2d', 32), ('small', 'Conv2dSame', 8),
         ('small_minimal', 'Conv2d', 32), ('small_minimal', 'Conv2dSame', 16)}
# Each arch, conv type and output stride once: torch.export takes 5-15 s
# per model on the shared 2-core machine, so it runs on these only.
EXPORT_COVER = {('large', 'Conv2dSame', 8), ('small', 'Conv2d', 32),
                ('small_minimal', 'Conv2dSame', 16)}
# torch.compile(dynamic=True) takes 15-40 s per small model there, so one
# model per conv type.
COMPILE_COVER = {('small', 'Conv2d', 32), ('small_minimal', 'Conv2dSame', 16)}
PT2E_QUICK = ('small', 'Conv2d', 32)
SWEEP_PATHS = ('fx', 'feature_extractor', 'jit_script', 'jit_trace', 'onnx')


def build(arch, conv, output_stride, out_indices=OUT_INDICES):
    torch.manual_seed(0)
    model = MobileNetV3(arch, conv_cfg=dict(type=conv),
                        output_stride=output_stride, out_indices=out_indices)
    randomise_bn(model)
    return model.eval()


def photo_batches(photos):
    """Two batches of normalised real photos: 2 at CAPTURE_SIZE, 3 at
    CHECK_SIZE."""
    images = (photos[0] - 0.45) / 0.225
    return (F.interpolate(images[:2], CAPTURE_SIZE, mode='bilinear'),
            F.interpolate(images[1:], CHECK_SIZE, mode='bilinear'))


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


def _pt2e_quant(model, x, tmp_path):
    from torchao.quantization.pt2e.quantize_pt2e import (convert_pt2e,
                                                         prepare_pt2e)
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
        X86InductorQuantizer, get_default_x86_inductor_quantization_config)
    quantizer = X86InductorQuantizer().set_global(
        get_default_x86_inductor_quantization_config())
    prepared = prepare_pt2e(_export(model, x, tmp_path), quantizer)
    with torch.no_grad():
        prepared(x)  # calibration
    return convert_pt2e(prepared)


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
    # with its default check_trace=True, which traces again under no_grad
    # and compares the graphs (issue 26)
    'jit_trace': lambda model, x, tmp_path: torch.jit.trace(model, x),
    'onnx': _onnx,
    'pt2e_quant': _pt2e_quant,
    'export': _export,
    # dynamo's capture with symbolic shapes, which decides graphs, guards
    # and recompiles; its graph runs eagerly ('aot_eager' took 6 minutes
    # for small and torchvision's model, inductor's C++ build longer)
    'compile': lambda model, x, tmp_path: torch.compile(
        model, dynamic=True, backend='eager'),
}


def assert_int8_close(got, expected):
    """int8 against fp32: measured on these photos, the relative error
    ||int8 - fp32|| / ||fp32|| is 1.5-3.5% and the correlation >= 0.9994
    for every output of the swept models."""
    rel = float((got - expected).norm() / expected.norm())
    corr = float(np.corrcoef(got.flatten(), expected.flatten())[0, 1])
    assert rel < 0.08 and corr > 0.995, (rel, corr)


def _sweep():
    for combo in itertools.product(ARCHS, CONVS, OUTPUT_STRIDES):
        slow = () if combo in COVER else (pytest.mark.slow, )
        paths = [(path, slow) for path in SWEEP_PATHS]
        if combo in COVER:  # int8 (PT2E): export, prepare and convert
            # take 20-50 s per model on a loaded CPU, so one runs by default
            int8_marks = () if combo == PT2E_QUICK else (pytest.mark.slow, )
            paths.append(('pt2e_quant', int8_marks))
        if combo in EXPORT_COVER:
            paths.append(('export', (pytest.mark.slow, )))
        if combo in COMPILE_COVER:
            paths.append(('compile', (pytest.mark.slow, )))
        for path, marks in paths:
            yield pytest.param(path, *combo, marks=marks,
                               id=f'{path}-{"-".join(map(str, combo))}')


def compiled_graphs(model, inputs):
    """Outputs of ``torch.compile(model, dynamic=True)`` on each input, the
    number of graphs dynamo compiled and its graph breaks."""
    torch._dynamo.reset()
    counters.clear()
    compiled = CAPTURES['compile'](model, inputs[0], None)
    with torch.no_grad():
        outs = [compiled(t) for t in inputs]
    return (outs, counters['stats']['unique_graphs'],
            sum(counters['graph_break'].values()))


@pytest.fixture(scope='module')
def torchvision_graphs(photos):
    """Graphs and graph breaks of torchvision's MobileNetV3-Small features
    compiled as the sweep compiles mbv3, on the same inputs."""
    from torchvision.models import mobilenet_v3_small
    model = mobilenet_v3_small().features.eval()
    return compiled_graphs(model, photo_batches(photos))[1:]


@pytest.mark.parametrize('path,arch,conv,output_stride', _sweep())
def test_capture_equals_eager(path, arch, conv, output_stride, photos,
                              tmp_path, one_thread, request):
    model = build(arch, conv, output_stride)
    inputs = photo_batches(photos)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FutureWarning)  # jit deprecation
        if path == 'compile':
            # a new size costs no more recompiles than in torchvision's
            outs, *graphs = compiled_graphs(model, inputs)
            assert tuple(graphs) == request.getfixturevalue(
                'torchvision_graphs')
        else:
            captured = CAPTURES[path](model, inputs[0], tmp_path)
            with torch.no_grad():
                outs = [captured(t) for t in inputs]
    with torch.no_grad():
        for t, got in zip(inputs, outs):
            expected = model(t)
            assert len(got) == len(expected)
            for e, g in zip(expected, got):
                assert g.shape == e.shape
                if path == 'pt2e_quant':
                    assert_int8_close(g, e)
                else:
                    torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)


def _fx_ops(graph_module):
    return [str(node.target) for node in graph_module.graph.nodes]


def _jit_ops(module):
    return re.findall(r'(?:aten|prim)::\w+', str(module.inlined_graph))


# The op sequence of each capture path's graph (jit's module names differ
# between two traces, so not the graph text).
GRAPH_OPS = {
    'fx': lambda model, x: _fx_ops(torch.fx.symbolic_trace(model)),
    'jit_trace': lambda model, x: _jit_ops(
        torch.jit.trace(model, x, check_trace=False)),
    'jit_script': lambda model, x: _jit_ops(torch.jit.script(model)),
    'export': lambda model, x: _fx_ops(
        torch.export.export(model, (x, )).graph_module),
}


@pytest.mark.parametrize('path', sorted(GRAPH_OPS))
def test_same_graph_with_and_without_grad(path, one_thread):
    """Issue 26: the shortcut was added in place only without grad, so the
    captured graph depended on the grad mode at capture time."""
    model = build('small', 'Conv2d', 32, out_indices=(3, ))
    x = torch.randn(1, 3, 64, 64)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FutureWarning)  # jit deprecation
        graphs = []
        for grad in (True, False):
            with torch.set_grad_enabled(grad):
                graphs.append(GRAPH_OPS[path](model, x))
    assert graphs[0] == graphs[1]
    # small's bneck 3 (layer 3) has the residual shortcut
    assert any(re.search(r'\badd_?\b', op) for op in graphs[0])


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


def test_deployment_docs_list_every_capture_path():
    from tests.conftest import REPO
    with open(f'{REPO}/docs/deployment.md') as f:
        section = f.read()
    assert 'test_capture.py::test_capture_equals_eager' in section
    table = section[section.index('| Path | How |'):].splitlines()
    rows = table[:next(i for i, line in enumerate(table) if not line.strip())]
    last_cells = [line.split('|')[-2].strip() for line in rows[1:]]
    listed = [re.match(r'`([a-z0-9_]+)`', cell) for cell in last_cells[1:]]
    assert sorted(m.group(1) for m in listed) == sorted(CAPTURES)


def test_script_shares_weights_and_keys_and_names_expand_taps():
    model = build('small', 'Conv2dSame', 16, out_indices=(6, 3))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FutureWarning)
        scripted = torch.jit.script(model)
        x = torch.randn(2, 3, 67, 83)
        outs = scripted(x)
    assert isinstance(outs, list)
    assert [o.shape[1] for o in outs] == [40, 24]  # out_indices order
    # only the layers the forward runs, under the backbone's own keys
    keys = [k for k in model.state_dict()
            if int(k.split('.')[0][len('layer'):]) <= 6]
    assert list(scripted.state_dict()) == keys
    model.out_indices = ('4.expand', 6)
    with pytest.raises(ValueError, match=r"torch.jit.script needs int "
                       r"out_indices, got the expand taps \['4.expand'\]"):
        torch.jit.script(model)
