"""The LR-ASPP segmentor trains through tools/train.py on tiles of real
photos with their masks: the loss falls, mIoU is logged and the checkpoint
is written."""
import glob
import json
import os

import pytest

from tests.conftest import REPO, data_root_options, run_tool

CONFIG = os.path.join(REPO, 'configs', 'lraspp',
                      'lraspp_mobilenet-v3-small_skimage-seg.py')
ITERS = 12


@pytest.mark.slow
def test_lraspp_trains_on_image_mask_folder(tmp_path):
    root, work_dir = str(tmp_path / 'data'), str(tmp_path / 'work')
    out = run_tool('train.py', CONFIG, '--work-dir', work_dir,
                   '--cfg-options', *data_root_options(root),
                   f'train_cfg.max_iters={ITERS}',
                   f'train_cfg.val_interval={ITERS}',
                   f'default_hooks.checkpoint.interval={ITERS}',
                   'default_hooks.logger.interval=1',
                   'train_dataloader.batch_size=4')
    assert out.returncode == 0, out.stderr[-3000:]
    # tools/train.py wrote the tiles (data_preparation in the config)
    assert len(glob.glob(os.path.join(root, 'ann_dir', 'train',
                                      '*.png'))) == 27
    assert os.path.isfile(os.path.join(work_dir, f'iter_{ITERS}.pth'))
    (path, ) = glob.glob(os.path.join(work_dir, '*', 'vis_data',
                                      'scalars.json'))
    with open(path) as f:
        records = [json.loads(line) for line in f]
    losses = [r['loss'] for r in records if 'loss' in r]
    assert len(losses) == ITERS
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    (val, ) = [r for r in records if 'mIoU' in r]
    assert 0 <= val['mIoU'] <= 100
