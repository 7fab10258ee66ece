import pytest
import torch
from mmengine.config import Config

from mbv3.apis import init_model
from mbv3.deploy import calibration_batches
from mbv3.deploy.calibration import calibration_indices
from tests.conftest import DIGITS_CONFIG, data_root_options


def test_calibration_indices_are_seeded_sorted_and_bounded():
    first = calibration_indices(1437, 256, seed=0)
    assert first == calibration_indices(1437, 256, seed=0)
    assert first != calibration_indices(1437, 256, seed=1)
    assert len(first) == len(set(first)) == 256 and first == sorted(first)
    assert calibration_indices(10, 256) == list(range(10))
    with pytest.raises(ValueError, match='need num_images >= 1 and a '
                       'non-empty data set, got num_images=0, length=10'):
        calibration_indices(10, 0)


def test_calibration_uses_the_test_pipeline_on_a_fixed_subset(
        digits_subset):
    root, info = digits_subset
    cfg = Config.fromfile(DIGITS_CONFIG)
    cfg.merge_from_dict(dict(o.split('=') for o in data_root_options(root)))
    model = init_model(cfg)
    runs = [calibration_batches(cfg, model, num_images=40, batch_size=16)
            for _ in range(2)]
    # 40 of the subset's train images in batches of 16, resized to the
    # test size 32x32 (the train pipeline's random crops would differ)
    assert [b[0].shape for b in runs[0]] == [(16, 3, 32, 32)] * 2 + \
        [(8, 3, 32, 32)]
    for (x1, y1), (x2, y2) in zip(*runs):
        assert torch.equal(x1, x2) and (y1 == y2).all()
    assert info['train'] == 143
