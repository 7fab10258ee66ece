"""Pretrained weights as users bring them (issue 11 inputs 5 and 6): an
init that loads nothing is an error naming the layout and the fix, a
partial one warns, and mmseg's ``pretrained=`` maps to ``init_cfg``."""
import warnings

import pytest
import torch

from mbv3.models import MobileNetV3
from mbv3.registry import MODELS


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """An unconverted torchvision file and an mbv3 classifier checkpoint
    (as mmengine's runner saves it), with the classifier."""
    import torchvision
    root = tmp_path_factory.mktemp('pretrained')
    torch.manual_seed(0)
    torch.save(torchvision.models.mobilenet_v3_small().state_dict(),
               root / 'tv_small.pth')
    classifier = MODELS.build(dict(
        type='ImageClassifier', backbone=dict(type='MobileNetV3'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='StackedLinearClsHead', num_classes=10,
                  in_channels=576, mid_channels=[1024])))
    torch.save({'state_dict': classifier.state_dict(), 'meta': {}},
               root / 'classifier.pth')
    return root, classifier


def pretrained(path, **kwargs):
    return dict(type='Pretrained', checkpoint=str(path), **kwargs)


def test_unconverted_torchvision_file_is_an_error(files):
    root, _ = files
    path = root / 'tv_small.pth'
    model = MobileNetV3('small', init_cfg=pretrained(path))
    with pytest.raises(ValueError) as err:
        model.init_weights()
    assert str(err.value) == (
        f"Pretrained checkpoint '{path}' fills 0 of 240 tensors of "
        'MobileNetV3: it holds a torchvision MobileNetV3 state dict; '
        f'convert it first (python tools/convert_checkpoint.py {path} '
        "tv_small_mbv3.pth) and load the result with prefix='backbone.'")


def test_classifier_without_prefix_is_an_error(files):
    root, _ = files
    path = root / 'classifier.pth'
    model = MobileNetV3('small', init_cfg=pretrained(path))
    with pytest.raises(ValueError) as err:
        model.init_weights()
    assert str(err.value) == (
        f"Pretrained checkpoint '{path}' fills 0 of 240 tensors of "
        'MobileNetV3: it holds an mbv3/mmpretrain ImageClassifier state '
        "dict (keys backbone.*); add prefix='backbone.' to the init_cfg")


def test_classifier_with_prefix_loads_every_tensor(files):
    root, classifier = files
    model = MobileNetV3('small', init_cfg=pretrained(
        root / 'classifier.pth', prefix='backbone.'))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        model.init_weights()
    expected = classifier.backbone.state_dict()
    assert all(torch.equal(v, expected[k])
               for k, v in model.state_dict().items())


def test_partial_load_warns_with_what_is_missing(files):
    root, classifier = files
    model = MobileNetV3('small', widen_factor=0.75, init_cfg=pretrained(
        root / 'classifier.pth', prefix='backbone.'))
    with pytest.warns(UserWarning) as record:
        model.init_weights()
    message = str(record[-1].message)
    assert message.startswith(
        f"Pretrained checkpoint '{root / 'classifier.pth'}' fills 62 of "
        '240 tensors of MobileNetV3 (missing: none; other shape: ')
    assert message.endswith(
        'it holds an mbv3/mmpretrain ImageClassifier state dict; build the '
        'backbone the checkpoint was made for (arch, widen_factor)')
    # the stem (16 channels at both widths) is loaded
    assert torch.equal(model.layer0.conv.weight,
                       classifier.backbone.layer0.conv.weight)


def test_wrapped_classifier_checkpoint_loads(files, tmp_path):
    # A DistributedDataParallel classifier saved by hand: module.backbone.*
    _, classifier = files
    path = tmp_path / 'ddp.pth'
    torch.save({'model': {'module.' + k: v for k, v in
                          classifier.state_dict().items()}}, path)
    model = MobileNetV3('small', init_cfg=pretrained(path,
                                                     prefix='backbone.'))
    model.init_weights()
    assert torch.equal(model.layer12.conv.weight,
                       classifier.backbone.layer12.conv.weight)


MMSEG_URL = 'open-mmlab://contrib/mobilenet_v3_large'


def test_mmseg_pretrained_argument_maps_to_init_cfg():
    # Issue 11 input 6: mmseg configs pass pretrained= to the backbone,
    # which raised "unexpected keyword argument 'pretrained'".
    with pytest.warns(FutureWarning, match='pretrained is deprecated'):
        model = MODELS.build(dict(type='MobileNetV3', arch='large',
                                  out_indices=(1, 3, 16),
                                  pretrained=MMSEG_URL))
    assert model.init_cfg == dict(type='Pretrained', checkpoint=MMSEG_URL)
    assert model.out_channels == (16, 24, 960)


def test_pretrained_and_init_cfg_together_are_refused():
    init_cfg = dict(type='Kaiming', layer='Conv2d')
    with pytest.raises(ValueError) as err:
        MobileNetV3('large', pretrained=MMSEG_URL, init_cfg=init_cfg)
    assert str(err.value) == (
        f'init_cfg and pretrained cannot be set at the same time, got '
        f'init_cfg={init_cfg!r} and pretrained={MMSEG_URL!r}; use '
        "init_cfg=dict(type='Pretrained', checkpoint=...)")
    with pytest.raises(TypeError, match='pretrained must be a str or None'):
        MobileNetV3('large', pretrained=True)


def test_default_init_cfg_without_pretrained():
    from mbv3.models.backbones.mobilenet_v3 import DEFAULT_INIT_CFG
    assert MobileNetV3('small').init_cfg == DEFAULT_INIT_CFG


def test_pretrained_argument_with_an_unconverted_file_is_an_error(files):
    # mmdet issue 1337 / mmpretrain issue 18: pretrained= given a file in
    # another layout loaded nothing, with a key dump as the only sign.
    root, _ = files
    with pytest.warns(FutureWarning):
        model = MobileNetV3('small', pretrained=str(root / 'tv_small.pth'))
    with pytest.raises(ValueError, match='it holds a torchvision '
                       'MobileNetV3 state dict; convert it first'):
        model.init_weights()


def test_classifier_pretrained_init_is_checked_too(files):
    root, _ = files
    classifier = MODELS.build(dict(
        type='ImageClassifier', backbone=dict(type='MobileNetV3'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='StackedLinearClsHead', num_classes=10,
                  in_channels=576, mid_channels=[1024]),
        init_cfg=pretrained(root / 'tv_small.pth')))
    with pytest.raises(ValueError) as err:
        classifier.init_weights()
    assert str(err.value).startswith(
        f"Pretrained checkpoint '{root / 'tv_small.pth'}' fills 0 of 244 "
        'tensors of ImageClassifier: it holds a torchvision MobileNetV3 '
        'state dict; convert it first')
    assert str(err.value).endswith('and load the result')


def test_mmseg_encoder_decoder_passes_pretrained_to_the_backbone():
    # mmseg's configs set model.pretrained; its EncoderDecoder hands it on
    with pytest.warns(FutureWarning):
        model = MODELS.build(dict(
            type='EncoderDecoder', pretrained=MMSEG_URL,
            backbone=dict(type='MobileNetV3', arch='large',
                          out_indices=(1, 16)),
            decode_head=dict(type='LRASPPHead', in_channels=(16, 960),
                             num_classes=19)))
    assert model.backbone.init_cfg == dict(type='Pretrained',
                                           checkpoint=MMSEG_URL)
