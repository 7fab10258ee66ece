"""A weights file is data: the model config, preprocessing and class names
it carries never run code, never reach a registry's import of a dotted
name, and never reach the terminal as control sequences."""
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from mbv3.apis import init_model
from mbv3.cli.infer import main as infer
from mbv3.convert import read_metadata, save_converted
from mbv3.utils.checkpoint import UnsafeCheckpointError

PREPROCESS = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                  interpolation='bilinear', resize=40, crop=32,
                  crop_pct=0.875)


def _model(backbone_type='MobileNetV3', num_classes=3):
    return dict(type='ImageClassifier',
                backbone=dict(type=backbone_type, arch='small_050'),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='StackedLinearClsHead',
                          num_classes=num_classes, in_channels=288,
                          mid_channels=[16]))


def _write(path, model, preprocess=PREPROCESS, state_dict=None):
    meta = dict(source='mmpretrain', arch='small_050', widen_factor=1.0,
                weights=None, model=model, preprocess=preprocess)
    save_converted(path, state_dict or {'w': torch.zeros(2)}, meta)
    return str(path)


@pytest.fixture
def image(tmp_path):
    path = tmp_path / 'img.png'
    Image.fromarray(np.full((40, 48, 3), 90, np.uint8)).save(path)
    return str(path)


@pytest.mark.reliability(kind='hostile weights file',
                         case='model type os.system in the metadata')
@pytest.mark.parametrize('ext', ['.safetensors', '.pth'])
def test_metadata_type_naming_a_callable_is_refused_not_run(tmp_path, image,
                                                           ext):
    marker = tmp_path / 'ran'
    model = _model()
    model['backbone'] = dict(type='os.system', command=f'touch {marker}')
    path = _write(tmp_path / f'hostile{ext}', model)
    for load in (lambda: init_model(None, path),
                 lambda: infer(['-', path, image])):
        with pytest.raises(UnsafeCheckpointError) as err:
            load()
        message = str(err.value)
        assert len(message.splitlines()) == 1
        assert repr(path) in message
        assert "model.backbone.type='os.system'" in message
    assert not marker.exists()


@pytest.mark.reliability(kind='hostile weights file',
                         case='nested or scoped type outside mbv3')
@pytest.mark.parametrize('where,kind', [
    ('head', 'builtins.exec'),
    ('backbone', 'mmpretrain.MobileNetV3'),
    ('backbone', 'subprocess.Popen'),
    ('init', 'Pretrained'),  # a weight initializer, not a model
])
def test_every_type_in_the_model_must_be_registered(tmp_path, where, kind):
    model = _model()
    if where == 'head':
        model['head']['loss'] = dict(type=kind, source='1')
    elif where == 'init':
        model['backbone']['init_cfg'] = dict(type=kind, checkpoint='x.pth')
    else:
        model['backbone']['type'] = kind
    path = _write(tmp_path / 'hostile.safetensors', model)
    with pytest.raises(UnsafeCheckpointError, match=f'type={kind!r}'):
        read_metadata(path)


@pytest.mark.reliability(kind='hostile weights file',
                         case='preprocessing that is not plain numbers')
@pytest.mark.parametrize('key,value', [
    ('interpolation', 'os.system'), ('mean', 'x'), ('std', [1, 2, 'x']),
    ('crop', -1), ('resize', 'a'), ('mean', [float('nan')] * 3)])
def test_preprocessing_fields_must_be_plain_values(tmp_path, key, value):
    path = _write(tmp_path / 'bad.safetensors', _model(),
                  dict(PREPROCESS, **{key: value}))
    with pytest.raises(UnsafeCheckpointError, match=f'preprocess.{key}='):
        read_metadata(path)


def test_registered_types_plain_or_scoped_load(tmp_path):
    torch.manual_seed(0)
    model = _model('mbv3.MobileNetV3')
    from mbv3.registry import MODELS
    state_dict = MODELS.build(_model()).state_dict()
    path = _write(tmp_path / 'ok.safetensors', model, state_dict=state_dict)
    built = init_model(None, path)
    assert built.head.layers[1].fc.out_features == 3


def _checkpoint_with_classes(tmp_path, classes):
    """A training-style checkpoint of a 3-class model whose dataset_meta
    holds ``classes``."""
    torch.manual_seed(0)
    from mbv3.registry import MODELS
    model = MODELS.build(_model())
    config = tmp_path / 'cfg.py'
    config.write_text(
        f'default_scope = "mbv3"\nmodel = {_model()!r}\n'
        'model["data_preprocessor"] = dict(type="ClsDataPreprocessor", '
        'mean=[0, 0, 0], std=[1, 1, 1], to_rgb=True)\n'
        'test_dataloader = dict(dataset=dict(pipeline=[dict('
        'type="LoadImageFromFile"), dict(type="ResizeEdge", scale=32), '
        'dict(type="CenterCrop", crop_size=32), dict(type="PackInputs")]))\n')
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=classes))), path)
    return str(config), str(path)


# an OSC title change, a clear screen, and a line that erases itself and
# prints a fake verdict
HOSTILE_CLASSES = ['\x1b]0;owned\x07cat', '\x1b[2J\x1b[Hdog',
                   'bird\r\x1b[2Kverdict: SAFE']


@pytest.mark.reliability(kind='hostile weights file',
                         case='escape sequences in class names')
def test_class_names_reach_the_output_printable(tmp_path, image, capsys):
    config, checkpoint = _checkpoint_with_classes(tmp_path, HOSTILE_CLASSES)
    outs = [str(tmp_path / 'out.csv'), str(tmp_path / 'out.json')]
    for out in outs:
        infer([config, checkpoint, image, '--topk', '3', '--out', out])
    printed = capsys.readouterr().out
    written = ''.join(open(out, encoding='utf-8').read() for out in outs)
    for text in (printed, written):
        assert '\x1b' not in text and '\r' not in text and '\x07' not in text
    # escaped, still readable
    assert '\\x1b]0;owned\\x07cat' in printed
    assert 'bird\\r\\x1b[2Kverdict: SAFE' in printed
    results = json.load(open(outs[1], encoding='utf-8'))
    assert {t['cls'] for t in results[0]['topk']} == {
        '\\x1b]0;owned\\x07cat', '\\x1b[2J\\x1b[Hdog',
        'bird\\r\\x1b[2Kverdict: SAFE'}


def test_class_names_must_be_strings(tmp_path):
    config, checkpoint = _checkpoint_with_classes(tmp_path, {'a': 1})
    with pytest.raises(ValueError,
                       match=r"meta\['dataset_meta'\]\['classes'\]"):
        init_model(config, checkpoint)
    assert os.path.isfile(checkpoint)


def test_quantization_meta_names_only_a_known_backend(tmp_path):
    # already refused before issue 23: kept so that it stays refused
    config, checkpoint = _checkpoint_with_classes(tmp_path, ['a', 'b', 'c'])
    ckpt = torch.load(checkpoint)
    ckpt['state_dict']['head.activation_post_process.scale'] = torch.ones(1)
    ckpt['meta']['quantization'] = dict(mode='qat', backend='os.system')
    torch.save(ckpt, checkpoint)
    with pytest.raises(ValueError, match="backend.*'os.system'"):
        init_model(config, checkpoint)
