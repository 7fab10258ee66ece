"""output_stride, reduction_factor and the taps detection and segmentation
models use, checked against torchvision, mmseg and mmdet."""
import math
import types

import pytest
import torch
from mmengine.registry import MODELS as ROOT_MODELS

import mbv3  # noqa: F401  (registers mbv3.* in mmengine's root registry)
from mbv3.models import InvertedResidual, MobileNetV3
from tests.test_models.test_backbones.test_mobilenet_v3 import EXPECTED
from tests.test_models.test_classifiers.test_image_classifier import (
    randomise_bn, torchvision_to_mbv3)

torchvision = pytest.importorskip('torchvision')


def real_photos(photos):
    """Crops of real photos, square and not, (1, 3, H, W) in [0, 1]; sizes
    that are not multiples of 32."""
    batch, raw = photos
    chelsea = torch.from_numpy(raw[1]).permute(2, 0, 1)[None].float() / 255
    return {'97x97': batch[:1, :, 40:137, 60:157],   # astronaut's face
            '97x131': chelsea[:, :, 100:197, 150:281]}  # the cat's face


def load_torchvision_features(model, tv_features):
    state = {f'features.{k}': v for k, v in tv_features.state_dict().items()}
    mapped = torchvision_to_mbv3(state, types.SimpleNamespace(backbone=model))
    model.load_state_dict(
        {k[len('backbone.'):]: v for k, v in mapped.items()}, strict=True)


@pytest.mark.parametrize('arch', ['large', 'small'])
def test_every_out_index_at_every_output_stride(arch, photos):
    channels, strides = EXPECTED[arch]
    for output_stride in (8, 16, 32):
        model = MobileNetV3(arch, out_indices=range(len(channels)),
                            output_stride=output_stride).eval()
        expected = [min(s, output_stride) for s in strides]
        assert [f.stride for f in model.feature_info] == expected
        assert list(model.out_channels) == channels
        for name, image in real_photos(photos).items():
            with torch.no_grad():
                outs = model(image)
            h, w = image.shape[2:]
            for i, out in enumerate(outs):
                s = expected[i]
                assert out.shape == (1, channels[i], math.ceil(h / s),
                                     math.ceil(w / s)), \
                    f'{arch} OS{output_stride} {name} layer{i}'


def test_large_dilated_equals_torchvision_dilated(photos):
    torch.manual_seed(0)
    tv = torchvision.models.mobilenet_v3_large(dilated=True).features.eval()
    randomise_bn(tv)
    ours = MobileNetV3('large', out_indices=range(17), output_stride=16)
    load_torchvision_features(ours, tv)
    image = real_photos(photos)['97x131']
    with torch.no_grad():
        outs = ours.eval()(image)
        x = image
        for i, layer in enumerate(tv):
            x = layer(x)
            assert (x - outs[i]).abs().max().item() <= 1e-4, f'features.{i}'
    # features.16 at output stride 16: ceil(97/16) x ceil(131/16)
    assert outs[16].shape == (1, 960, 7, 9)


@pytest.mark.parametrize('arch,params,last', [
    # sum of parameters of torchvision mobilenet_v3_{arch}(reduced_tail=
    # True).features, and the width of its last conv (6 x 80, 6 x 48)
    ('large', 1_620_512, 480),
    ('small', 438_704, 288),
])
def test_reduced_tail_equals_torchvision(arch, params, last, photos):
    tv = getattr(torchvision.models, f'mobilenet_v3_{arch}')(
        reduced_tail=True, dilated=True).features.eval()
    ours = MobileNetV3(arch, out_indices=range(len(tv)), output_stride=16,
                       reduction_factor=2).eval()
    assert sum(p.numel() for p in ours.parameters()) == params
    assert sum(p.numel() for p in tv.parameters()) == params
    assert ours.out_channels[-1] == last
    torch.manual_seed(0)
    randomise_bn(tv)
    load_torchvision_features(ours, tv)
    image = real_photos(photos)['97x131']
    with torch.no_grad():
        outs = ours(image)
        x = image
        for i, layer in enumerate(tv):
            x = layer(x)
            assert x.shape == outs[i].shape, f'features.{i}'
        assert (x - outs[-1]).abs().max().item() <= 1e-4


def test_mmseg_lraspp_anchor_from_root_registry(photos):
    # mmseg configs/_base_/models/lraspp_m-v3-d8.py: large,
    # out_indices=(1, 3, 16), decode_head in_channels=(16, 24, 960); mmseg's
    # backbone always runs at output stride 8.
    model = ROOT_MODELS.build(dict(type='mbv3.MobileNetV3', arch='large',
                                   out_indices=(1, 3, 16), output_stride=8))
    assert model.out_channels == (16, 24, 960)
    assert [f.stride for f in model.feature_info] == [2, 4, 8]
    with torch.no_grad():
        outs = model.eval()(photos[0][:1])
    assert [o.shape[1:] for o in outs] == [(16, 112, 112), (24, 56, 56),
                                           (960, 28, 28)]


def test_mmdet_retinanet_anchor_from_root_registry(photos):
    # mmdet docs, "use backbone network through MMPretrain": RetinaNet with
    # small, out_indices=(3, 8, 11), neck in_channels=[24, 48, 96]; the
    # neck itself is mmdet's (tests/integration/test_mmdet.py).
    backbone = ROOT_MODELS.build(dict(type='mbv3.MobileNetV3', arch='small',
                                      out_indices=(3, 8, 11)))
    assert list(backbone.out_channels) == [24, 48, 96]
    assert [f.stride for f in backbone.feature_info] == [8, 16, 32]
    with torch.no_grad():
        outs = backbone.eval()(photos[0][:1])
    # strides 8, 16, 32 of a 224x224 photo
    assert [tuple(o.shape[1:]) for o in outs] == [(24, 28, 28), (48, 14, 14),
                                                  (96, 7, 7)]


# torchvision LRASPPHead -> mbv3 LRASPPHead (pool_kernel=None) names
LRASPP_HEAD_KEYS = {'cbr.0.': 'aspp_conv.conv.', 'cbr.1.': 'aspp_conv.bn.',
                    'scale.1.': 'image_pool.0.',
                    'low_classifier.': 'low_classifiers.0.',
                    'high_classifier.': 'high_classifier.'}


def test_lraspp_logits_equal_torchvision(photos):
    # torchvision lraspp_mobilenet_v3_large: features.4 ('low') and
    # features.16 ('high') of mobilenet_v3_large(dilated=True), global
    # pooling in the attention branch, logits resized to the input.
    torch.manual_seed(0)
    tv = torchvision.models.segmentation.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=3).eval()
    randomise_bn(tv)
    ours = ROOT_MODELS.build(dict(
        type='mbv3.EncoderDecoder',
        backbone=dict(type='MobileNetV3', arch='large', out_indices=(4, 16),
                      output_stride=16),
        decode_head=dict(type='LRASPPHead', in_channels=(40, 960),
                         num_classes=3, pool_kernel=None))).eval()
    load_torchvision_features(ours.backbone, tv.backbone)
    head = {}
    for key, value in tv.classifier.state_dict().items():
        prefix = next(p for p in LRASPP_HEAD_KEYS if key.startswith(p))
        head[LRASPP_HEAD_KEYS[prefix] + key[len(prefix):]] = value
    ours.decode_head.load_state_dict(head, strict=True)
    image = real_photos(photos)['97x131']
    with torch.no_grad():
        theirs = tv(image)['out']
        mine = ours(image, mode='tensor')
    assert mine.shape == theirs.shape == (1, 3, 97, 131)
    assert (mine - theirs).abs().max().item() <= 1e-4


def test_torchvision_ssdlite_c4_tap(photos):
    # torchvision ssdlite320_mobilenet_v3_large reads the expansion conv of
    # features[13] (paper Section 6.2's C4) and features[16] of
    # mobilenet_v3_large(reduced_tail=True): computed here the way its
    # SSDLiteFeatureExtractorMobileNet cuts the network.
    torch.manual_seed(0)
    tv = torchvision.models.mobilenet_v3_large(reduced_tail=True).features
    randomise_bn(tv)
    tv.eval()
    ours = MobileNetV3('large', out_indices=('13.expand', 16),
                       reduction_factor=2)
    load_torchvision_features(ours, tv)
    image = photos[0][:1]
    with torch.no_grad():
        c4 = tv[13].block[0](tv[:13](image))
        c5 = tv[13:](tv[:13](image))
        outs = ours.eval()(image)
    assert outs[0].shape == c4.shape == (1, 672, 14, 14)
    assert outs[1].shape == c5.shape == (1, 480, 7, 7)
    assert (outs[0] - c4).abs().max().item() <= 1e-4
    assert (outs[1] - c5).abs().max().item() <= 1e-4
    assert ours.feature_info[0].stride == 16
    ssd = torchvision.models.detection.ssdlite320_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=3)
    assert ssd.backbone.features[0][-1].out_channels == 672


def test_dilated_stride_two_bneck_keeps_no_shortcut():
    # small, reduced tail, output stride 16: bneck 9 runs 48 -> 48 channels
    # at stride 1 but, as in torchvision and mmseg, without a shortcut.
    model = MobileNetV3('small', output_stride=16, reduction_factor=2)
    assert not model.layer9.with_res_shortcut
    assert model.layer10.with_res_shortcut
    with pytest.raises(ValueError, match=r'with_res_shortcut=True needs '
                       r'stride 1 .* got stride=2'):
        InvertedResidual(16, 16, 64, stride=2, with_res_shortcut=True)
