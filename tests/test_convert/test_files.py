"""Converted files: the command-line tool, metadata that rebuilds the model
and its preprocessing, pretrained init and fine-tuning from them, and
refusal of pickles that carry code."""
import os

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.runner import load_checkpoint

from mbv3.apis import inference_model, init_model
from mbv3.convert import read_metadata
from mbv3.cli.convert import main as convert_main
from mbv3.registry import MODELS
from mbv3.utils.checkpoint import UnsafeCheckpointError
from tests.conftest import DIGITS_CONFIG, data_root_options, run_tool
from tests.test_models.test_classifiers.test_image_classifier import \
    randomise_bn

TOL = 1e-4  # the bound, fp32 eval


@pytest.fixture(scope='module')
def torchvision_small(tmp_path_factory):
    """A random torchvision mobilenet_v3_small saved under its release file
    name, and the model."""
    import torchvision
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v3_small().eval()
    randomise_bn(model)
    path = tmp_path_factory.mktemp('tv') / 'mobilenet_v3_small-047dcff4.pth'
    torch.save(model.state_dict(), path)
    return path, model


@pytest.fixture(scope='module')
def converted_small(torchvision_small, tmp_path_factory):
    src, model = torchvision_small
    dst = tmp_path_factory.mktemp('converted') / 'small.safetensors'
    convert_main([str(src), str(dst)])
    return dst, model


def test_tool_end_to_end_builds_model_from_metadata(torchvision_small,
                                                    tmp_path, photos):
    src, source = torchvision_small
    dst = tmp_path / 'mbv3_small.safetensors'
    out = run_tool('convert_checkpoint.py', str(src), str(dst))
    assert out.returncode == 0, out.stderr[-3000:]
    meta = read_metadata(dst)
    # torchvision MobileNet_V3_Small_Weights.IMAGENET1K_V1.transforms()
    assert meta['preprocess'] == dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        interpolation='bilinear', resize=256, crop=224, crop_pct=0.875)
    model = init_model(None, str(dst))
    with torch.no_grad():
        diff = (model(photos[0]) - source(photos[0])).abs().max().item()
    assert diff <= TOL
    result = inference_model(model, photos[1][0])  # RGB
    assert result['pred_scores'].shape == (1000, )


def test_tf_port_preprocessing_is_recorded_and_applied(tmp_path, photos):
    import timm
    from mmengine.dataset import Compose
    torch.manual_seed(0)
    source = timm.create_model('tf_mobilenetv3_small_100').eval()
    randomise_bn(source)
    src = tmp_path / 'tf_mobilenetv3_small_100-37f49e2b.pth'
    torch.save(source.state_dict(), src)
    dst = tmp_path / 'tf_small.pth'
    convert_main([str(src), str(dst)])
    model = init_model(None, str(dst))
    # timm default_cfgs: tf_ ports expect mean = std = 0.5 (x 255)
    assert model.data_preprocessor.mean.flatten().tolist() == [127.5] * 3
    assert model.data_preprocessor.std.flatten().tolist() == [127.5] * 3
    rgb = photos[1][1]
    result = inference_model(model, rgb)  # arrays are RGB
    pipeline = Compose(model.cfg.test_dataloader.dataset.pipeline[1:])
    image = pipeline(dict(img=rgb))['inputs'].float()  # loads RGB
    assert image.shape == (3, 224, 224)
    with torch.no_grad():
        expected = source(((image - 127.5) / 127.5)[None]).softmax(1)[0]
    np.testing.assert_allclose(result['pred_scores'], expected.numpy(),
                               atol=1e-5)


def test_pickle_with_code_is_refused(tmp_path):
    from tests.test_utils.test_checkpoint import _Payload
    marker = tmp_path / 'pwned'
    src = tmp_path / 'evil.pth'
    torch.save({'features.0.0.weight': torch.zeros(1),
                'x': _Payload(str(marker))}, src)
    with pytest.raises(UnsafeCheckpointError,
                       match='MBV3_TRUSTED_CHECKPOINTS'):
        convert_main([str(src), str(tmp_path / 'out.pth')])
    assert not marker.exists()


def digits_classifier(backbone_init_cfg=None):
    backbone = dict(type='MobileNetV3', arch='small',
                    norm_cfg=dict(type='BN', eps=0.001, momentum=0.1))
    if backbone_init_cfg:
        backbone['init_cfg'] = backbone_init_cfg
    return MODELS.build(dict(
        type='ImageClassifier', backbone=backbone,
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='StackedLinearClsHead', num_classes=10,
                  in_channels=576, mid_channels=[1024])))


def test_pretrained_init_cfg_loads_safetensors(converted_small):
    path, source = converted_small
    model = digits_classifier(dict(type='Pretrained', checkpoint=str(path),
                                   prefix='backbone.'))
    model.init_weights()
    torch.testing.assert_close(model.backbone.layer0.conv.weight,
                               source.features[0][0].weight, rtol=0, atol=0)
    torch.testing.assert_close(model.backbone.layer12.bn.running_var,
                               source.features[12][1].running_var, rtol=0,
                               atol=0)


def test_head_with_other_class_count_is_reinitialised_and_logged(
        converted_small, tmp_path):
    path, source = converted_small
    model = digits_classifier()
    model.init_weights()
    initial = model.head.layers[1].fc.weight.clone()
    log_file = tmp_path / 'load.log'
    logger = MMLogger.get_instance('mbv3_head_reinit', log_file=str(log_file))
    load_checkpoint(model, str(path), strict=False, logger=logger)
    assert torch.equal(model.head.layers[1].fc.weight, initial)
    assert torch.equal(model.head.layers[0].fc.weight,
                       source.classifier[0].weight)
    log = log_file.read_text()
    assert ('keeping the initial head.layers.1.fc.weight, '
            'head.layers.1.fc.bias') in log


@pytest.mark.slow
def test_fine_tune_digits_from_converted_weights(converted_small, tmp_path):
    path, _ = converted_small
    root, work_dir = str(tmp_path / 'digits'), str(tmp_path / 'work')
    out = run_tool('train.py', DIGITS_CONFIG, '--work-dir', work_dir,
                   '--cfg-options', *data_root_options(root),
                   'data_preparation.train_subset=0.1',
                   'train_cfg.max_epochs=1', f'load_from={path}',
                   'default_hooks.logger.interval=1')
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr
    assert f'Load checkpoint from {path}' in log
    assert 'keeping the initial head.layers.1.fc.weight' in log
    assert os.path.isfile(os.path.join(work_dir, 'epoch_1.pth'))


def test_init_model_without_config_needs_metadata(torchvision_small):
    src, _ = torchvision_small
    with pytest.raises(ValueError, match='has no conversion metadata'):
        init_model(None, str(src))
    with pytest.raises(ValueError, match='needs a config'):
        init_model(None)


def test_tool_converts_a_data_parallel_checkpoint(tmp_path, photos):
    # Issue 11 input 3: the tool could not tell the source of module.*
    # keys, and with --source torchvision refused 'module.features.0.0.weight'
    import torchvision
    torch.manual_seed(0)
    wrapped = torch.nn.DataParallel(torchvision.models.mobilenet_v3_small())
    source = wrapped.module.eval()
    randomise_bn(source)
    src = tmp_path / 'dp.pth'
    torch.save(wrapped.state_dict(), src)
    assert next(iter(torch.load(src))) == 'module.features.0.0.weight'
    for options in ([], ['--source', 'torchvision']):
        dst = tmp_path / f'dp{len(options)}.safetensors'
        meta = convert_main([str(src), str(dst), *options])
        assert (meta['source'], meta['arch']) == ('torchvision', 'small')
        model = init_model(None, str(dst))
        with torch.no_grad():
            diff = (model(photos[0]) - source(photos[0])).abs().max().item()
        assert diff <= TOL
