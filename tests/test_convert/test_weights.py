"""The weight registry against the metadata torchvision, timm and
mmpretrain ship: a name that points at a URL, hash, accuracy or
preprocessing its library lists differently fails here."""
import math
import os.path as osp
import re

import pytest

from mbv3.convert.weights import WEIGHTS, format_weights, get_weights

# torch.hub's convention for published files: <stem>-<sha256 prefix>.<ext>
HASHED_FILE = re.compile(r'-([0-9a-f]{8,})\.pth$')
TORCHVISION = {
    'mobilenet_v3_large.tv_in1k': ('Large', 'IMAGENET1K_V1'),
    'mobilenet_v3_large.tv_in1k_v2': ('Large', 'IMAGENET1K_V2'),
    'mobilenet_v3_small.tv_in1k': ('Small', 'IMAGENET1K_V1'),
}

# Published MobileNetV3-family checkpoints the converter does not take, and
# why (timm pretrained tags; the tests below keep this list honest).
NOT_CONVERTED = {
    'mobilenetv3_large_150d.ra4_e3600_r256_in1k':
        'a deeper, 1.5x wider variant with other block rows',
    'mobilenetv3_rw.rmsp_in1k':
        "timm's early variant: other SE widths and no stem skip",
}


def entries(source):
    return [w for w in WEIGHTS.values() if w.source == source]


def test_every_hash_is_the_file_names_or_a_full_sha256():
    for w in WEIGHTS.values():
        match = HASHED_FILE.search(w.url)
        if match:
            assert w.sha256 == match[1], w.name
        else:
            assert re.fullmatch('[0-9a-f]{64}', w.sha256), w.name


def _check_preprocess(w, resize, crop, interpolation, mean, std):
    pre = w.preprocess
    assert (pre.resize, pre.crop, pre.interpolation) == \
        (resize, crop, interpolation), w.name
    assert pre.mean == pytest.approx([255 * m for m in mean]), w.name
    assert pre.std == pytest.approx([255 * s for s in std]), w.name


def test_torchvision_entries_match_its_weight_enums():
    import torchvision.models as tvm
    assert {w.name for w in entries('torchvision')} == set(TORCHVISION)
    for name, (size, tag) in TORCHVISION.items():
        enum = getattr(tvm, f'MobileNet_V3_{size}_Weights')[tag]
        w = WEIGHTS[name]
        assert (w.url, w.arch) == (enum.url, size.lower())
        assert w.metric[1] == enum.meta['_metrics']['ImageNet-1K']['acc@1']
        t = enum.transforms()
        _check_preprocess(w, t.resize_size[0], t.crop_size[0],
                          t.interpolation.value, t.mean, t.std)


def test_timm_entries_match_its_pretrained_cfgs():
    import timm
    published = set(timm.list_pretrained('*mobilenetv3_*'))
    listed = {w.name for w in entries('timm')}
    # every tag is either converted or says why not
    assert listed | set(NOT_CONVERTED) == published
    assert not listed & set(NOT_CONVERTED)
    for w in entries('timm'):
        cfg = timm.models.get_pretrained_cfg(w.name)
        if cfg.url:
            assert w.url == cfg.url, w.name
        else:
            assert w.url.startswith(
                f'https://huggingface.co/{cfg.hf_hub_id}/resolve/'), w.name
        _check_preprocess(w, math.floor(224 / cfg.crop_pct), 224,
                          cfg.interpolation, cfg.mean, cfg.std)
        assert (w.metric is None) == (cfg.num_classes != 1000), w.name


@pytest.mark.parametrize('name', sorted(NOT_CONVERTED))
def test_timm_tags_left_out_do_not_convert(name):
    """Moves into the registry once the converter takes them."""
    import timm

    from mbv3.convert import convert_checkpoint
    from mbv3.registry import MODELS
    state_dict = timm.create_model(name.split('.')[0]).state_dict()
    with pytest.raises((ValueError, RuntimeError)):
        converted, meta = convert_checkpoint(state_dict, hint=name)
        MODELS.build(meta['model']).load_state_dict(converted, strict=True)


def test_mmpretrain_entries_match_its_metafile_and_configs():
    import mmpretrain
    import yaml
    from mmengine.config import Config
    root = osp.join(osp.dirname(mmpretrain.__file__), '.mim')
    with open(osp.join(root, 'configs', 'mobilenet_v3', 'metafile.yml')) as f:
        models = yaml.safe_load(f)['Models']
    assert {w.name for w in entries('mmpretrain')} == \
        {m['Name'] for m in models}
    for model in models:
        w = WEIGHTS[model['Name']]
        assert w.url == model['Weights']
        top1 = model['Results'][0]['Metrics']['Top 1 Accuracy']
        assert w.metric[1] == top1
        cfg = Config.fromfile(osp.join(root, model['Config']))
        steps = {t['type']: t for t in cfg.test_dataloader.dataset.pipeline}
        # mmpretrain's ResizeEdge interpolates bilinearly by default
        _check_preprocess(
            w, steps['ResizeEdge']['scale'], steps['CenterCrop']['crop_size'],
            steps['ResizeEdge'].get('interpolation', 'bilinear'),
            [m / 255 for m in cfg.data_preprocessor.mean],
            [s / 255 for s in cfg.data_preprocessor.std])


def test_every_entry_names_its_arch_and_source():
    from mbv3.convert import SOURCES
    from mbv3.models.backbones.mobilenet_v3 import ARCH_SETTINGS
    for w in WEIGHTS.values():
        assert w.source in SOURCES and w.arch in ARCH_SETTINGS, w.name
        assert w.citation, w.name
    # mmseg's LR-ASPP backbones run at output stride 8 with 'SAME' padding
    assert {(w.numerics.output_stride, w.numerics.same_padding)
            for w in entries('mmseg')} == {(8, True)}
    assert len(entries('mmseg')) == 4


def test_list_and_lookup(capsys):
    from mbv3.cli.weights import main
    main(['list'])
    out = capsys.readouterr().out
    assert all(f'`{name}`' in out for name in WEIGHTS)
    assert '| `mobilenet_v3_large.tv_in1k_v2` | torchvision | large | ' \
        '75.274% ImageNet-1k top-1 |' in format_weights()
    with pytest.raises(ValueError, match="unknown weights 'large'"):
        get_weights('large')
    with pytest.raises(SystemExit):
        main(['fetch'])


def test_docs_table_is_the_list():
    from tests.conftest import REPO
    with open(osp.join(REPO, 'docs', 'weights.md'), encoding='utf-8') as f:
        readme = f.read()
    begin = '<!-- weights-table: the output of python tools/weights.py ' \
        'list -->\n'
    table = readme[readme.index(begin) + len(begin):
                   readme.index('\n<!-- end weights-table -->')]
    assert table == format_weights(), ('docs/weights.md table is stale: '
                                       'paste python tools/weights.py list')
