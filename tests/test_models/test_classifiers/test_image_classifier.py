import re

import pytest
import torch
from mmengine.config import Config

from mbv3.registry import MODELS
from mbv3.structures import DataSample
from mbv3.utils.flops import count_macs
from tests.conftest import REPO


def build_classifier(arch, num_classes=1000):
    cfg = Config.fromfile(f'{REPO}/configs/_base_/models/'
                          f'mobilenet-v3-{arch}.py')
    cfg.model.head.num_classes = num_classes
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('arch,params', [
    # torchvision.models.mobilenet_v3_large / _small, 1000 classes
    ('large', 5_483_032),
    ('small', 2_542_856),
])
def test_parameter_count_equals_torchvision(arch, params):
    model = build_classifier(arch)
    assert sum(p.numel() for p in model.parameters()) == params


@pytest.mark.parametrize('arch,macs', [
    # Howard et al. 2019, Tables 3 and 4: 217M (large), 56M; torchvision
    # documents 0.22 / 0.06 GFLOPS.
    ('large', 217e6),
    ('small', 56.5e6),
])
def test_macs_at_224_match_paper(arch, macs):
    total, _ = count_macs(build_classifier(arch))
    assert abs(total - macs) / macs <= 0.02


def torchvision_to_mbv3(tv_state, mbv3_model):
    """The test's own torchvision -> mbv3 key map.

    ``features.i.block.j.{0,1}`` are the conv/BN of the j-th conv unit of
    bneck i: in order expand (if any), depthwise, project; ``block.j.fc1``
    / ``fc2`` are the SE convs. ``features.0`` / ``features.16`` are the
    stem and last conv; ``classifier.0`` / ``.3`` the two linears.
    """
    static = {'features.0.0.': 'backbone.layer0.conv.',
              'features.0.1.': 'backbone.layer0.bn.',
              'classifier.0.': 'head.layers.0.fc.',
              'classifier.3.': 'head.layers.1.fc.'}
    last = len(mbv3_model.backbone.layer_specs) - 1
    static[f'features.{last}.0.'] = f'backbone.layer{last}.conv.'
    static[f'features.{last}.1.'] = f'backbone.layer{last}.bn.'
    units = {}
    for key in tv_state:
        m = re.match(r'features\.(\d+)\.block\.(\d+)\.[01]\.', key)
        if m:
            units.setdefault(int(m[1]), set()).add(int(m[2]))
    out = {}
    for key, value in tv_state.items():
        prefix = next((p for p in static if key.startswith(p)), None)
        if prefix is not None:
            out[static[prefix] + key[len(prefix):]] = value
            continue
        m = re.match(r'features\.(\d+)\.block\.(\d+)\.(fc[12]|[01])\.(.+)',
                     key)
        assert m, key
        layer, unit, part, leaf = int(m[1]), int(m[2]), m[3], m[4]
        if part.startswith('fc'):
            out[f'backbone.layer{layer}.se.conv{part[2]}.conv.{leaf}'] = value
            continue
        block = getattr(mbv3_model.backbone, f'layer{layer}')
        names = (['expand_conv'] if block.with_expand_conv else []) + [
            'depthwise_conv', 'linear_conv']
        name = names[sorted(units[layer]).index(unit)]
        out[f'backbone.layer{layer}.{name}.'
            f'{"conv" if part == "0" else "bn"}.{leaf}'] = value
    return out


def randomise_bn(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5, generator=g)
            m.running_var.uniform_(0.5, 2.0, generator=g)
            m.weight.data.uniform_(0.5, 1.5, generator=g)
            m.bias.data.uniform_(-0.5, 0.5, generator=g)


@pytest.mark.parametrize('arch', ['large', 'small'])
def test_logits_equal_torchvision(arch, photos):
    torchvision = pytest.importorskip('torchvision')
    torch.manual_seed(0)
    tv = getattr(torchvision.models, f'mobilenet_v3_{arch}')().eval()
    randomise_bn(tv)
    ours = build_classifier(arch).eval()
    ours.load_state_dict(torchvision_to_mbv3(tv.state_dict(), ours),
                         strict=True)
    batch = photos[0]
    with torch.no_grad():
        diff = (tv(batch) - ours(batch)).abs().max().item()
    assert diff <= 1e-5


def test_forward_modes():
    model = build_classifier('small', num_classes=10).eval()
    x = torch.rand(3, 3, 32, 32)
    assert model(x).shape == (3, 10)
    samples = [DataSample().set_gt_label(i) for i in range(3)]
    loss = model(x, samples, mode='loss')['loss']
    assert loss.ndim == 0 and loss.item() > 0
    preds = model(x, samples, mode='predict')
    assert preds[0].pred_score.shape == (10, )
    torch.testing.assert_close(preds[0].pred_score.sum(), torch.tensor(1.0))
    with pytest.raises(ValueError, match="mode must be 'tensor'"):
        model(x, mode='logits')


def test_label_smoothing_loss():
    model = MODELS.build(
        dict(type='ImageClassifier',
             backbone=dict(type='MobileNetV3', arch='small'),
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='StackedLinearClsHead', num_classes=10,
                       in_channels=576, mid_channels=[1024],
                       loss=dict(type='LabelSmoothLoss',
                                 label_smooth_val=0.1)))).eval()
    x = torch.rand(3, 3, 32, 32)
    labels = [7, 0, 3]
    samples = [DataSample().set_gt_label(i) for i in labels]
    with torch.no_grad():
        loss = model(x, samples, mode='loss')['loss']
        logits = model(x)
    # torch's label smoothing, against (0.9 * one_hot + 0.1 / 10)
    reference = torch.nn.functional.cross_entropy(
        logits, torch.tensor(labels), label_smoothing=0.1)
    torch.testing.assert_close(loss, reference)
    by_hand = -(logits.log_softmax(1) * (
        0.9 * torch.eye(10)[labels] + 0.01)).sum(1).mean()
    torch.testing.assert_close(loss, by_hand)
