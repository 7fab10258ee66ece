"""The LR-ASPP segmentor trains through tools/train.py on tiles of real
photos with their masks: the loss falls, the checkpoint is written, and the
logged mIoU is the one scikit-learn computes from the checkpoint's
predictions."""
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
    reference = sklearn_miou(os.path.join(work_dir, f'iter_{ITERS}.pth'),
                             root)
    assert val['mIoU'] == pytest.approx(reference, abs=0.006)  # 2 decimals


def sklearn_miou(checkpoint, root):
    """mIoU in percent of the checkpoint's predictions on the validation
    tiles, by scikit-learn's ``jaccard_score`` over all their pixels
    (label 255 left out)."""
    import numpy as np
    import torch
    from mmengine.dataset import pseudo_collate
    from sklearn.metrics import jaccard_score

    from mbv3.apis import init_model
    from mbv3.registry import DATASETS
    model = init_model(CONFIG, checkpoint)
    dataset = DATASETS.build(dict(model.cfg.val_dataloader.dataset,
                                  data_root=root))
    preds, gts = [], []
    for i in range(len(dataset)):
        with torch.no_grad():
            (sample, ) = model.test_step(pseudo_collate([dataset[i]]))
        preds.append(sample.pred_sem_seg.data.numpy().ravel())
        gts.append(sample.gt_sem_seg.data.numpy().ravel())
    pred, gt = np.concatenate(preds), np.concatenate(gts)
    keep = gt != 255
    return 100 * jaccard_score(gt[keep], pred[keep], labels=[0, 1],
                               average='macro')
