import pytest
import torch

from mbv3.models import LRASPPHead, MobileNetV3


def test_global_pooling_equals_torchvision_lraspp_head():
    tv_lraspp = pytest.importorskip('torchvision.models.segmentation.lraspp')
    torch.manual_seed(0)
    tv = tv_lraspp.LRASPPHead(40, 960, 5, 128).eval()
    ours = LRASPPHead((40, 960), 5, pool_kernel=None).eval()
    names = {'cbr.0.': 'aspp_conv.conv.', 'cbr.1.': 'aspp_conv.bn.',
             'scale.1.': 'image_pool.0.', 'low_classifier.':
             'low_classifiers.0.', 'high_classifier.': 'high_classifier.'}
    state = {}
    for key, value in tv.state_dict().items():
        prefix = next(p for p in names if key.startswith(p))
        state[names[prefix] + key[len(prefix):]] = value
    ours.load_state_dict(state, strict=True)
    low, high = torch.randn(2, 40, 13, 17), torch.randn(2, 960, 7, 9)
    with torch.no_grad():
        expected = tv({'low': low, 'high': high})
        got = ours((low, high))
    assert got.shape == (2, 5, 13, 17)
    assert (got - expected).abs().max().item() <= 1e-5


@pytest.mark.parametrize('size', [(64, 64), (97, 97), (512, 1024)])
def test_runs_at_any_input_size(size):
    # mmseg's fixed 49x49 pooling fails below 49 feature pixels, i.e. at
    # 64x64 and 97x97 at output stride 8. Taps of mmseg's
    # lraspp_m-v3s-d8 config: small, out_indices=(0, 1, 12), in_channels
    # (16, 16, 576), strides 2, 4, 8.
    backbone = MobileNetV3('small', out_indices=(0, 1, 12),
                           output_stride=8).eval()
    head = LRASPPHead((16, 16, 576), num_classes=3, in_index=(0, 1, 2)).eval()
    with torch.no_grad():
        feats = backbone(torch.rand(1, 3, *size))
        logits = head(feats)
    h, w = size
    assert logits.shape == (1, 3, -(-h // 2), -(-w // 2))  # stride 2


def test_paper_pooling_on_large_maps():
    # 512x1024 at output stride 8: a 64x128 map; the paper's 49x49 kernel,
    # stride (16, 20) -> 1x4 pooled cells, then resized back.
    head = LRASPPHead((24, 576), num_classes=2)
    pooled = head._pool(torch.rand(1, 576, 64, 128))
    assert pooled.shape == (1, 576, 1, 4)
    assert head._pool(torch.rand(1, 576, 7, 9)).shape == (1, 576, 1, 1)


@pytest.mark.parametrize('kwargs,message', [
    (dict(in_channels=(960, )), r'at least a low-level and a high-level'),
    (dict(in_index=(0, )), r'in_index must have one entry per in_channels'),
    (dict(pool_kernel=0), r'pool_kernel must be a positive int'),
    (dict(num_classes=0), r'num_classes must be an int >= 1, got 0'),
])
def test_bad_arguments(kwargs, message):
    args = dict(in_channels=(40, 960), num_classes=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        LRASPPHead(**args)


def test_wrong_input_channels():
    head = LRASPPHead((40, 960), 2)
    with pytest.raises(ValueError, match=r'channels \(40, 960\), got '
                       r'\(24, 960\)'):
        head((torch.rand(1, 24, 8, 8), torch.rand(1, 960, 4, 4)))
