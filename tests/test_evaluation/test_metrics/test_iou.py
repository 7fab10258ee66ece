import math

import torch

from mbv3.evaluation.metrics import IoUMetric
from mbv3.evaluation.metrics.iou import confusion_matrix, iou_scores


def test_scores_by_hand():
    gt = torch.tensor([[0, 0, 1, 1], [1, 1, 255, 2]])
    pred = torch.tensor([[0, 1, 1, 1], [1, 0, 0, 0]])
    matrix = confusion_matrix(pred, gt, num_classes=3)
    # rows: ground truth 0 (2 px), 1 (4 px), 2 (1 px); the 255 is ignored
    assert matrix.tolist() == [[1, 1, 0], [1, 3, 0], [1, 0, 0]]
    scores = iou_scores(matrix)
    # IoU: 1/(2+3-1)=0.25, 3/(4+4-3)=0.6, 0/(1+0-0)=0
    assert [round(v, 4) for v in scores['IoU']] == [25.0, 60.0, 0.0]
    assert math.isclose(scores['mIoU'], (25 + 60 + 0) / 3)
    assert math.isclose(scores['aAcc'], 4 / 7 * 100)
    assert math.isclose(scores['mAcc'], (50 + 75 + 0) / 3)


def test_absent_class_left_out_of_the_mean():
    gt = torch.tensor([0, 0, 1])
    scores = iou_scores(confusion_matrix(gt, gt, num_classes=3))
    assert math.isnan(scores['IoU'][2])
    assert scores['mIoU'] == 100.0


def test_metric_over_samples():
    metric = IoUMetric()
    metric.dataset_meta = dict(classes=('background', 'bright'))
    gt = torch.tensor([[[0, 1], [1, 1]]])
    metric.process(None, [dict(pred_sem_seg=dict(data=gt),
                               gt_sem_seg=dict(data=gt)),
                          dict(pred_sem_seg=dict(data=1 - gt),
                               gt_sem_seg=dict(data=gt))])
    result = metric.evaluate(2)
    # summed matrix [[1, 1], [3, 3]]: IoU 1/5 and 3/7
    assert result == dict(aAcc=50.0, mIoU=round((20 + 300 / 7) / 2, 2),
                          mAcc=50.0)
