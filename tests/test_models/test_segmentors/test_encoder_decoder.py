import re

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mbv3.registry import DATASETS, MODELS
from tests.conftest import REPO

CONFIG = f'{REPO}/configs/lraspp/lraspp_mobilenet-v3-small_skimage-seg.py'


@pytest.fixture(scope='module')
def seg_root(tmp_path_factory):
    from mbv3.datasets.skimage_seg import prepare_skimage_seg
    root = str(tmp_path_factory.mktemp('skimage_seg'))
    prepare_skimage_seg(root)
    return root


def build(cfg_part, root):
    cfg = Config.fromfile(CONFIG)
    dataset = dict(cfg[cfg_part].dataset, data_root=root)
    return cfg, DATASETS.build(dataset)


def test_dataset_pairs_images_and_masks(seg_root):
    _, train = build('train_dataloader', seg_root)
    _, val = build('val_dataloader', seg_root)
    # 96x96 tiles: coins 303x384 -> 3x4, camera 512x512 -> 5x5; every 4th
    # tile is a validation tile.
    assert (len(train), len(val)) == (27, 10)
    item = train[0]
    assert item['inputs'].shape == (3, 64, 64)
    assert item['data_samples'].gt_sem_seg.data.shape == (1, 64, 64)
    item = val[0]
    assert item['inputs'].shape == (3, 96, 96)
    assert set(item['data_samples'].gt_sem_seg.data.unique().tolist()) <= \
        {0, 1}
    assert val.metainfo['classes'] == ('background', 'bright')


def test_loss_predict_tensor_modes(seg_root):
    cfg, val = build('val_dataloader', seg_root)
    model = MODELS.build(cfg.model)
    data = model.data_preprocessor(pseudo_collate([val[0], val[1]]), True)
    with torch.no_grad():
        losses = model(**data, mode='loss')
        logits = model(data['inputs'], mode='tensor').double().numpy()
    # by hand, in NumPy: log-sum-exp minus the true class's logit, averaged
    # over the pixels whose label is not 255
    target = torch.stack([s.gt_sem_seg.data[0]
                          for s in data['data_samples']]).numpy()
    keep = target != 255
    picked = np.take_along_axis(logits, np.where(keep, target, 0)[:, None],
                                1)[:, 0]
    lse = np.log(np.exp(logits).sum(1))
    assert losses['loss_ce'].item() == pytest.approx(
        (lse - picked)[keep].mean(), rel=1e-5)
    model.eval()
    with torch.no_grad():
        logits = model(data['inputs'], mode='tensor')
        samples = model(**data, mode='predict')
    assert logits.shape == (2, 2, 96, 96)
    assert samples[0].pred_sem_seg.data.shape == (1, 96, 96)
    assert samples[0].seg_logits.data.shape == (2, 96, 96)


def test_predict_crops_padding_and_resizes_to_original():
    cfg = Config.fromfile(CONFIG)
    model = MODELS.build(cfg.model).eval()
    from mbv3.structures import DataSample
    sample = DataSample(metainfo=dict(img_shape=(40, 50),
                                      ori_shape=(80, 100)))
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64), [sample], mode='predict')
    assert out[0].pred_sem_seg.data.shape == (1, 80, 100)


def test_preprocessor_pads_masks_with_ignore_index():
    from mmengine.structures import PixelData

    from mbv3.structures import DataSample
    preprocessor = MODELS.build(dict(type='SegDataPreprocessor'))
    samples = []
    for h, w in ((4, 6), (5, 3)):
        sample = DataSample()
        sample.gt_sem_seg = PixelData(data=torch.zeros(1, h, w).long())
        samples.append(sample)
    data = preprocessor(dict(
        inputs=[torch.zeros(3, 4, 6, dtype=torch.uint8),
                torch.zeros(3, 5, 3, dtype=torch.uint8)],
        data_samples=samples))
    assert data['inputs'].shape == (2, 3, 5, 6)
    second = data['data_samples'][1].gt_sem_seg.data
    assert second.shape == (1, 5, 6)
    assert (second[:, :, 3:] == 255).all() and (second[:, :, :3] == 0).all()


@pytest.mark.parametrize('kwargs, unknown', [
    (dict(pad_value=7), "['pad_value']"),
    (dict(size=(512, 512), size_divisor=32), "['size', 'size_divisor']"),
])
def test_seg_preprocessor_names_unknown_arguments(kwargs, unknown):
    with pytest.raises(TypeError, match=re.escape(
            f'SegDataPreprocessor got unknown arguments {unknown}; it takes '
            'pad_val, seg_pad_val and')):
        MODELS.build(dict(type='SegDataPreprocessor', **kwargs))


def test_random_crop_moves_image_and_mask_together():
    from mbv3.datasets.transforms import RandomCrop
    img = np.arange(20 * 30, dtype=np.uint8).reshape(20, 30)
    results = RandomCrop((8, 40))(dict(img=np.stack([img] * 3, -1),
                                       gt_seg_map=img.copy()))
    assert results['img'].shape == (8, 30, 3)
    assert np.array_equal(results['img'][..., 0], results['gt_seg_map'])
    with pytest.raises(ValueError, match=r'crop_size must be a positive'):
        RandomCrop(0)


def test_missing_mask_is_named(tmp_path):
    import cv2
    (tmp_path / 'img').mkdir()
    (tmp_path / 'ann').mkdir()
    cv2.imwrite(str(tmp_path / 'img' / 'a.png'), np.zeros((4, 4), np.uint8))
    with pytest.raises(FileNotFoundError, match=r"'a.png' has no mask"):
        DATASETS.build(dict(type='SegDataset', data_root=str(tmp_path),
                            data_prefix=dict(img_path='img',
                                             seg_map_path='ann'),
                            img_suffix='.png', classes=('a', 'b')))
    with pytest.raises(ValueError, match=r'needs class names'):
        DATASETS.build(dict(type='SegDataset', data_root=str(tmp_path)))
