import copy

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from mbv3.deploy import fuse_conv_bn, prepare_for_inference
from mbv3.models.backbones import MobileNetV3
from tests.test_models.test_classifiers.test_image_classifier import \
    randomise_bn


def count_batchnorms(model):
    return sum(isinstance(m, _BatchNorm) for m in model.modules())


def _backbone(arch='small'):
    model = MobileNetV3(arch, out_indices=(1, '4.expand', 12)).eval()
    randomise_bn(model)
    return model


@pytest.mark.parametrize('arch', ['large', 'small'])
def test_fused_equals_unfused(arch, photos):
    model = _backbone(arch)
    # 16 (large) / 11 (small) bnecks with 2-3 conv units each, stem, last
    assert count_batchnorms(model) == {'large': 46, 'small': 34}[arch]
    fused = fuse_conv_bn(copy.deepcopy(model))
    assert count_batchnorms(fused) == 0
    images = photos[0]
    with torch.no_grad():
        for ref, out in zip(model(images), fused(images)):
            assert out.shape == ref.shape
            assert (out - ref).abs().max().item() <= 1e-5


def test_deploy_path_channels_last_equals_eager(photos):
    model = _backbone()
    deploy = prepare_for_inference(copy.deepcopy(model))
    assert deploy.layer0.conv.weight.is_contiguous(
        memory_format=torch.channels_last)
    images = photos[0].contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        for ref, out in zip(model(photos[0]), deploy(images)):
            assert (out - ref).abs().max().item() <= 1e-5


def test_fuse_rejects_non_module():
    with pytest.raises(TypeError, match='model must be an nn.Module'):
        fuse_conv_bn('model')


def test_torchscript_trace_and_export_match(photos):
    model = fuse_conv_bn(_backbone())
    images = photos[0][:2]
    with torch.no_grad():
        expected = model(images)
        traced = torch.jit.trace(model, images[:1])
        exported = torch.export.export(model, (images[:1], ))
        for got in (traced(images), exported.module()(images[:1])):
            for ref, out in zip(expected, got):
                assert (out - ref[:out.shape[0]]).abs().max().item() <= 1e-5


def test_compile_has_no_graph_breaks():
    model = MobileNetV3('small', out_indices=(1, '4.expand', 12)).eval()
    explanation = torch._dynamo.explain(model)(torch.rand(2, 3, 64, 64))
    assert explanation.graph_break_count == 0
    assert explanation.graph_count == 1
