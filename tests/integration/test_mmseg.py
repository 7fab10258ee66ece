"""mbv3 inside mmseg 1.2: the docs' LR-ASPP configs on mmseg's
own MobileNetV3 configs, built, run and trained by mmseg's builders and
tools; mmseg's own MobileNetV3 weights give mmseg's numbers."""
import itertools
import os.path as osp
import re

import pytest
import torch

from tests.integration.conftest import (doc_snippet, framework_config,
                                        last_metric, photo, randomize,
                                        require_frameworks,
                                        run_framework_tool, save_png,
                                        write_config)

require_frameworks()
pytestmark = pytest.mark.frameworks

# where each snippet is printed; 'large' is on the Cityscapes config that
# sets `pretrained`
SNIPPETS = {
    'large': ('docs/use_from_openmmlab.md',
              "_base_ = 'mmseg::mobilenet_v3/mobilenet-v3-d8_lraspp"),
    'small': ('docs/use_from_openmmlab.md',
              "_base_ = 'mmseg::mobilenet_v3/mobilenet-v3-d8-scratch-s_"),
}
SEG_PHOTOS = ('astronaut', 'camera')
# LRASPPHead pools with a fixed 49x49 window (sized for mmseg's 512x1024
# crops), so the stride-8 features must be at least 49 pixels high and wide
CROP = (400, 400)
WIDTH = 400

TINY = '''
data_root = {root!r}
crop_size = {crop}
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
model = dict(data_preprocessor=dict(size=crop_size){model})
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
param_scheduler = [
    dict(type='PolyLR', power=0.9, begin=0, end=2, by_epoch=False)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
randomness = dict(seed=0)
'''


def cityscapes_set(root):
    """scikit-image's `astronaut` and `camera`, 400x400, in Cityscapes'
    layout, labelled by mbv3's Otsu rule (0 background, 1 bright) for
    both splits."""
    from mbv3.datasets.skimage_seg import otsu_mask
    for name in SEG_PHOTOS:
        image = photo(name, WIDTH)
        for split in ('train', 'val'):
            save_png(image, osp.join(root, 'leftImg8bit', split, 'tiny',
                                     f'{name}_leftImg8bit.png'))
            save_png(otsu_mask(image[..., 0]),
                     osp.join(root, 'gtFine', split, 'tiny',
                              f'{name}_gtFine_labelTrainIds.png'))
    return root


def base_config(snippet):
    """The mmseg config the snippet builds on, e.g.
    'mobilenet_v3/mobilenet-v3-d8_lraspp_4xb4-320k_cityscapes-512x1024.py'."""
    return re.search(r"_base_ = 'mmseg::([^']+)'", snippet).group(1)


def load_config(which, folder, model_extra=''):
    from mmengine.config import Config
    snippet = doc_snippet(*SNIPPETS[which])
    root = cityscapes_set(osp.join(folder, 'data'))
    overrides = TINY.format(root=root, crop=CROP, model=model_extra)
    return Config.fromfile(write_config(folder, snippet, overrides))


def build(model_cfg):
    """mmseg's builder, with SyncBN reverted to BN as mmengine's Runner
    does outside distributed training."""
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    return revert_sync_batchnorm(MODELS.build(model_cfg))


def normalized_photo(name='astronaut', width=400):
    rgb = photo(name, width)
    x = torch.from_numpy(rgb).permute(2, 0, 1).float()[None]
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    return (x - mean) / std


@pytest.mark.parametrize('which', sorted(SNIPPETS))
def test_snippet_builds_infers_and_trains(which, tmp_path):
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner
    from mmseg.apis import inference_model

    from mbv3.models import MobileNetV3
    cfg = load_config(which, str(tmp_path))
    model = build(cfg.model)
    assert type(model.backbone) is MobileNetV3
    assert model.backbone.out_channels == model.decode_head.in_channels

    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    loader = Runner.build_dataloader(cfg.train_dataloader)
    before = [p.detach().clone() for p in model.backbone.parameters()]
    model.train()
    for batch in itertools.islice(loader, 2):
        losses = model.train_step(batch, optim_wrapper)
        assert torch.isfinite(losses['decode.loss_ce']), losses
    after = list(model.backbone.parameters())
    assert all(not torch.equal(b, a) for b, a in zip(before, after))

    model.cfg = cfg
    model.eval()
    bgr = photo('coffee', 600)[..., ::-1].copy()
    result = inference_model(model, bgr)
    num_classes = model.decode_head.num_classes  # 19, Cityscapes'
    assert result.seg_logits.data.shape == (num_classes, *bgr.shape[:2])
    assert result.pred_sem_seg.data.shape == (1, *bgr.shape[:2])


@pytest.mark.slow
@pytest.mark.parametrize('which', sorted(SNIPPETS))
def test_mmseg_tools_train_and_test(which, tmp_path):
    folder = str(tmp_path)
    model_extra = ''
    if which == 'large':
        # the config's `pretrained` is a URL; tests download nothing, so it
        # points at mmseg's own backbone saved to a local file instead
        ref = build(dict(type='MobileNetV3', arch='large',
                         out_indices=(1, 3, 16)))
        ckpt = osp.join(folder, 'mmseg_mobilenet_v3_large.pth')
        torch.save(ref.state_dict(), ckpt)
        model_extra = f', pretrained={ckpt!r}'
    cfg = load_config(which, folder, model_extra)
    config = cfg.filename
    work = osp.join(folder, 'work')
    out = run_framework_tool('mmseg', 'train.py', config, '--work-dir', work,
                             cwd=folder)
    assert 'Iter(train) [2/2]' in out
    val_miou = last_metric(out, 'mIoU')
    out = run_framework_tool('mmseg', 'test.py', config,
                             osp.join(work, 'iter_2.pth'), '--work-dir',
                             work, cwd=folder)
    # the saved checkpoint gives the mIoU the training run validated
    assert last_metric(out, 'mIoU') == val_miou


def test_large_config_pretrained_loads_mmseg_weights(tmp_path):
    folder = str(tmp_path)
    ref = build(dict(type='MobileNetV3', arch='large', out_indices=(1, 3, 16)))
    randomize(ref, normalized_photo())
    ckpt = osp.join(folder, 'mmseg_mobilenet_v3_large.pth')
    torch.save(ref.state_dict(), ckpt)
    cfg = load_config('large', folder, f', pretrained={ckpt!r}')
    model = build(cfg.model)
    model.init_weights()
    loaded = model.backbone.state_dict()
    expected = ref.state_dict()
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[k], expected[k]) for k in expected)


@pytest.mark.parametrize('which', sorted(SNIPPETS))
def test_mmseg_weights_give_mmseg_features_and_logits(which, tmp_path):
    from mmengine.config import Config
    cfg = load_config(which, str(tmp_path))
    ref_cfg = Config.fromfile(
        framework_config('mmseg', base_config(doc_snippet(*SNIPPETS[which]))))
    # the weights come from the reference model, not from `pretrained`
    cfg.model.pretrained = ref_cfg.model.pretrained = None
    ref = build(ref_cfg.model)
    assert type(ref.backbone).__module__.startswith('mmseg.')
    x = normalized_photo()
    randomize(ref, x)
    model = build(cfg.model)
    model.load_state_dict(ref.state_dict(), strict=True)
    model.eval()
    with torch.no_grad():
        ref_feats, feats = ref.backbone(x), model.backbone(x)
        assert [f.shape for f in feats] == [f.shape for f in ref_feats]
        for f, r in zip(feats, ref_feats):
            assert r.std(dim=(2, 3)).mean() > 0.05  # not a near-flat map
            torch.testing.assert_close(f, r, atol=1e-5, rtol=0)
        torch.testing.assert_close(model(x, mode='tensor'),
                                   ref(x, mode='tensor'), atol=1e-5, rtol=0)
        # without TensorFlow 'SAME' padding the features are not mmseg's
        cfg.model.backbone.conv_cfg = None
        plain = build(cfg.model).eval()
        plain.load_state_dict(ref.state_dict(), strict=True)
        diffs = [(f - r).abs().max().item()
                 for f, r in zip(plain.backbone(x), ref_feats)]
    assert min(diffs) > 1e-2, diffs


@pytest.mark.parametrize('which', sorted(SNIPPETS))
def test_converter_on_mmsegs_own_segmentor(which):
    """mbv3's mmseg converter (tools/convert_checkpoint.py) on a state dict
    of mmseg's own LR-ASPP segmentor, compared with mmseg's backbone."""
    from mmengine.config import Config

    from mbv3.convert import convert_checkpoint
    from mbv3.models import MobileNetV3
    ref_cfg = Config.fromfile(
        framework_config('mmseg', base_config(doc_snippet(*SNIPPETS[which]))))
    ref_cfg.model.pretrained = None
    ref = build(ref_cfg.model)
    x = normalized_photo()
    randomize(ref, x)
    converted, meta = convert_checkpoint(dict(meta={},
                                              state_dict=ref.state_dict()))
    assert meta['source'] == 'mmseg'
    args = {k: v for k, v in meta['model']['backbone'].items()
            if k != 'type'}
    ours = MobileNetV3(**dict(args, out_indices=ref.backbone.out_indices))
    ours.load_state_dict({k[len('backbone.'):]: v
                          for k, v in converted.items()}, strict=True)
    ours.eval()
    with torch.no_grad():
        theirs, mine = ref.backbone(x), ours(x)
    assert [t.shape for t in theirs] == [m.shape for m in mine]
    for t, m in zip(theirs, mine):
        torch.testing.assert_close(m, t, atol=1e-5, rtol=0)
