"""ONNX with a dynamic height and width equals eager at sizes other than
the export size (issue 11, failing input 2)."""
import numpy as np
import torch

from mbv3.deploy import check_sizes, export_onnx, onnx_session
from mbv3.models.backbones import MobileNetV3
from mbv3.models.input_spec import InputSpec
from tests.test_models.test_classifiers.test_image_classifier import \
    randomise_bn


def test_conv2d_same_padding_follows_the_runtime_size(tmp_path, one_thread):
    torch.manual_seed(0)
    model = MobileNetV3('small', conv_cfg=dict(type='Conv2dSame'))
    model.init_weights()
    randomise_bn(model.eval())
    path = export_onnx(model, str(tmp_path / 'same.onnx'), (1, 3, 224, 224))
    session = onnx_session(path, threads=1)
    # Kinds users report for MobileNetV3 (pytorch/vision#3463,
    # pytorch/pytorch#54316, #42653): h-swish/h-sigmoid without an ONNX op
    # at old opsets, and the SE pooling exported as an AveragePool whose
    # kernel is the export size. Here: native ops from the standard domain,
    # and the SE pooling global, so it holds at any size.
    import onnx
    nodes = onnx.load(path).graph.node
    ops = {node.op_type for node in nodes}
    assert {'HardSwish', 'HardSigmoid', 'GlobalAveragePool', 'Pad'} <= ops
    assert 'AveragePool' not in ops
    assert {node.domain for node in nodes} == {''}
    # 'SAME' gives ceil(size / 32): 97x131 -> 4x5 and 225 -> 8, where a
    # padding baked in at 224 gave 7x7 for both
    for size, last in (((97, 131), (4, 5)), ((225, 225), (8, 8))):
        x = torch.randn(2, 3, *size)
        expected = model(x)[0].detach().numpy()
        got = session.run(None, {'input': x.numpy()})[0]
        assert expected.shape == got.shape == (2, 576, *last)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_check_sizes_adds_an_odd_non_square_size():
    spec = InputSpec(1, 32, 32, (127.5, ), (127.5, ))
    assert check_sizes(spec) == (spec, InputSpec(1, 49, 41, (127.5, ),
                                                 (127.5, )))
