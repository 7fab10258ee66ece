"""The GPU decode path (JpegClsDataPreprocessor), run on CPU tensors: the
same pixels as the CPU pipeline within resampling differences."""
import os

import cv2
import pytest
import torch
from mmengine.dataset import Compose

from mbv3.datasets import collate_batch
from mbv3.datasets.transforms import LoadImageBytes, PackInputs
from mbv3.models.classifiers import (ClsDataPreprocessor,
                                     JpegClsDataPreprocessor)
from mbv3.utils.config_files import read_config
from tests.conftest import REPO

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]
FILES = Compose([LoadImageBytes(), PackInputs(input_key='img_bytes')])
CONFIG = os.path.join(REPO, 'configs', 'mobilenet_v3',
                      'mobilenet-v3-small_finetune-folder_gpu-decode.py')


@pytest.fixture(scope='module')
def jpegs(photos, tmp_path_factory):
    """astronaut 512x512, chelsea 300x451, coffee 400x600, rocket 427x640
    as JPEGs (quality 90)."""
    _, raw = photos
    root = tmp_path_factory.mktemp('jpegs')
    paths = []
    for i, image in enumerate(raw):
        paths.append(str(root / f'{i}.jpg'))
        cv2.imwrite(paths[-1], image[..., ::-1],
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
    return paths


def cpu_batch(paths, steps):
    pipeline = Compose([dict(type='LoadImageFromFile', channel_order='rgb')]
                       + steps + [dict(type='PackInputs')])
    return ClsDataPreprocessor(mean=MEAN, std=STD)(collate_batch(
        [pipeline(dict(img_path=p, gt_label=i)) for i, p in
         enumerate(paths)]))['inputs']


def device_batch(paths, training=False, **transforms):
    prep = JpegClsDataPreprocessor(mean=MEAN, std=STD, **transforms)
    return prep(collate_batch([FILES(dict(img_path=p, gt_label=i))
                               for i, p in enumerate(paths)]), training)


def pixel_error(a, b):
    """Per image, mean and max absolute difference in 0..255 levels."""
    diff = ((a - b) * torch.tensor(STD).view(1, 3, 1, 1)).abs()
    return diff.mean(dim=(1, 2, 3)), diff.amax(dim=(1, 2, 3))


def test_evaluation_transforms_equal_the_cpu_pipeline(jpegs):
    cpu = cpu_batch(jpegs, [dict(type='ResizeEdge', scale=256),
                            dict(type='CenterCrop', crop_size=224)])
    cfg = read_config(CONFIG).data_preprocessor
    out = device_batch(jpegs, test_transforms=cfg.test_transforms)
    assert out['inputs'].shape == cpu.shape == (4, 3, 224, 224)
    assert out['data_samples'].tolist() == [0, 1, 2, 3]
    # same decoder numbers (libjpeg-turbo both), same bilinear resampling
    # without antialiasing (OpenCV's): rounding differences only
    mean, top = pixel_error(out['inputs'], cpu)
    assert top.max() <= 1.0 + 1e-4 and mean.max() < 0.5
    # torchvision's default antialiasing: a resampling difference (measured
    # 0.8-1.9 levels on average per image)
    out = device_batch(jpegs, test_transforms=[
        dict(type='Resize', size=256), dict(type='CenterCrop', size=224)])
    mean, _ = pixel_error(out['inputs'], cpu)
    assert 0.5 < mean.max() < 3.0


def test_training_transforms_equal_the_cpu_pipeline(jpegs):
    """A crop of the whole (square) photo and a flip: no random draw."""
    cpu = cpu_batch(jpegs[:1], [
        dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(1., 1.),
             aspect_ratio_range=(1., 1.)),
        dict(type='RandomFlip', prob=1.0)])
    out = device_batch(jpegs[:1], training=True, train_transforms=[
        dict(type='RandomResizedCrop', size=224, scale=(1., 1.),
             ratio=(1., 1.), antialias=False),
        dict(type='RandomHorizontalFlip', p=1.0)])['inputs']
    mean, top = pixel_error(out, cpu)
    assert top.max() <= 1.0 + 1e-4 and mean.max() < 0.5


def test_training_draws_a_crop_per_image(jpegs):
    cfg = read_config(CONFIG).data_preprocessor
    torch.manual_seed(0)
    first = device_batch(jpegs, True, train_transforms=cfg.train_transforms)
    second = device_batch(jpegs, True, train_transforms=cfg.train_transforms)
    assert first['inputs'].shape == (4, 3, 224, 224)
    assert not torch.equal(first['inputs'], second['inputs'])


def test_bad_input_and_arguments_are_named(tmp_path):
    png = str(tmp_path / 'a.png')
    cv2.imwrite(png, torch.zeros(4, 4, 3, dtype=torch.uint8).numpy())
    with pytest.raises(ValueError, match='decodes JPEG files only'):
        device_batch([png])
    with pytest.raises(ValueError, match='takes the encoded files'):
        JpegClsDataPreprocessor()(dict(inputs=torch.zeros(1, 3, 4, 4)))
    with pytest.raises(ValueError, match="by class name.*got 'Resise'"):
        JpegClsDataPreprocessor(test_transforms=[dict(type='Resise')])
    with pytest.raises(ValueError, match='to_rgb must be False'):
        JpegClsDataPreprocessor(to_rgb=True)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_nvjpeg_on_the_gpu_equals_the_cpu_decoder(jpegs):
    cfg = read_config(CONFIG).data_preprocessor
    prep = JpegClsDataPreprocessor(mean=MEAN, std=STD,
                                   test_transforms=cfg.test_transforms)
    batch = collate_batch([FILES(dict(img_path=p, gt_label=0))
                           for p in jpegs])
    cpu = prep(dict(batch))['inputs']
    gpu = prep.cuda()(dict(batch))['inputs']
    assert gpu.is_cuda
    mean, _ = pixel_error(gpu.cpu(), cpu)
    assert mean.max() < 1.0  # nvJPEG's IDCT differs from libjpeg-turbo's
