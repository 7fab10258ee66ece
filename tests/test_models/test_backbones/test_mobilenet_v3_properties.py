"""Property-based checks of MobileNetV3 (hypothesis): for random arch
tables, widths, input sizes, output strides and out_indices, every output
has the channels and stride ``feature_info`` promises; and inputs too small
to train are named before BatchNorm fails."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mbv3.models.backbones.mobilenet_v3 import MobileNetV3

ROW = st.tuples(st.sampled_from([1, 3, 5]), st.integers(1, 12),
                st.integers(1, 12), st.booleans(),
                st.sampled_from(['ReLU', 'HSwish']), st.sampled_from([1, 2]))


@st.composite
def backbones(draw):
    table = draw(st.lists(ROW, min_size=1, max_size=5))
    widen = draw(st.sampled_from([0.25, 0.5, 0.75, 1.0, 1.5]))
    output_stride = draw(st.sampled_from([8, 16, 32]))
    num_layers = len(table) + 2
    indices = draw(st.lists(st.integers(-num_layers, num_layers - 1),
                            min_size=1, max_size=4, unique=True))
    if len({i % num_layers for i in indices}) < len(indices):
        indices = indices[:1]
    model = MobileNetV3([list(r) for r in table], widen_factor=widen,
                        output_stride=output_stride,
                        out_indices=tuple(indices))
    return model.eval(), output_stride


@settings(max_examples=25, deadline=None)
@given(backbones(), st.integers(1, 40), st.integers(1, 40),
       st.integers(1, 2))
def test_outputs_agree_with_feature_info(backbone, height, width, batch):
    model, output_stride = backbone
    with torch.no_grad():
        outs = model(torch.rand(batch, 3, height, width))
    assert len(outs) == len(model.feature_info)
    for out, spec in zip(outs, model.feature_info):
        assert spec.stride <= output_stride
        assert out.shape == (batch, spec.channels,
                             math.ceil(height / spec.stride),
                             math.ceil(width / spec.stride)), spec
    assert model.out_channels == tuple(o.shape[1] for o in outs)


def test_batch_of_one_too_small_to_train_is_named():
    model = MobileNetV3('small').train()
    with pytest.raises(ValueError, match=r'shape \(1, 3, 32, 32\) is too '
                       r'small to train with a batch of 1: layer9 \(stride '
                       r'32\) outputs \(1, 96, 1, 1\).*batch of >= 2, H or W '
                       r'larger than 32 pixels'):
        model(torch.rand(1, 3, 32, 32))
    # The same input is fine for inference, in a batch, or 33 pixels high.
    assert model.eval()(torch.rand(1, 3, 32, 32))[0].shape == (1, 576, 1, 1)
    model.train()
    assert model(torch.rand(2, 3, 32, 32))[0].shape == (2, 576, 1, 1)
    assert model(torch.rand(1, 3, 33, 32))[0].shape == (1, 576, 2, 1)


def test_norm_eval_trains_a_single_tiny_image():
    model = MobileNetV3('small', norm_eval=True).train()
    assert model(torch.rand(1, 3, 8, 8))[0].shape == (1, 576, 1, 1)


def test_empty_spatial_size_is_named():
    with pytest.raises(ValueError, match=r'empty spatial size, got shape '
                       r'\(2, 3, 0, 8\)'):
        MobileNetV3('small')(torch.rand(2, 3, 0, 8))
