"""The recipes load RGB and feed the network RGB, with no BGR round trip:
the same network input, bit for bit, as mmcv's BGR loading undone by the
preprocessor's ``to_rgb=True``."""
import os

import cv2
import pytest
import torch
from mmengine.dataset import Compose

from mbv3.datasets import collate_batch
from mbv3.models.classifiers.data_preprocessor import ClsDataPreprocessor
from mbv3.utils.config_files import read_config
from tests.conftest import REPO

CONFIGS = ['mobilenet-v3-small_digits.py', 'mobilenet-v3-small_textures.py',
           'mobilenet-v3-small_finetune-folder.py',
           'mobilenet-v3-large_8xb128_in1k.py']


def preprocessor(cfg, **changes):
    kwargs = {k: v for k, v in dict(cfg.data_preprocessor).items()
              if k != 'type'}
    return ClsDataPreprocessor(**dict(kwargs, **changes))


@pytest.mark.parametrize('name', CONFIGS)
def test_rgb_from_decode_to_network(name, photos, tmp_path):
    _, raw = photos
    path = str(tmp_path / 'photo.jpg')
    cv2.imwrite(path, raw[1][..., ::-1])
    cfg = read_config(os.path.join(REPO, 'configs', 'mobilenet_v3', name))
    for loader in ('train_dataloader', 'test_dataloader'):
        steps = list(cfg[loader].dataset.pipeline)
        assert steps[0].type == 'LoadImageFromFile'
        assert steps[0].channel_order == 'rgb'
        assert cfg[loader].collate_fn.type == 'mbv3.collate_batch'
    prep = preprocessor(cfg)
    assert not prep._channel_conversion
    pipeline = list(cfg.test_dataloader.dataset.pipeline)
    bgr_pipeline = [dict(pipeline[0], channel_order='bgr')] + pipeline[1:]
    item = dict(img_path=path, gt_label=0)
    ours = prep(collate_batch([Compose(pipeline)(dict(item))]))['inputs']
    theirs = preprocessor(cfg, to_rgb=True)(
        collate_batch([Compose(bgr_pipeline)(dict(item))]))['inputs']
    assert ours.shape[:2] == (1, 3)
    assert torch.equal(ours, theirs)
