"""Intersection over union for semantic segmentation."""
from typing import Sequence

import torch
from mmengine.evaluator import BaseMetric

from mbv3.registry import METRICS


def confusion_matrix(pred: torch.Tensor, gt: torch.Tensor, num_classes: int,
                     ignore_index: int = 255) -> torch.Tensor:
    """Pixel counts ``M[g, p]`` of ground truth ``g`` predicted as ``p``.

    Args:
        pred (Tensor): Predicted labels, any shape.
        gt (Tensor): Ground-truth labels, the same shape; ``ignore_index``
            pixels are left out.
        num_classes (int): K.
        ignore_index (int): Ignored ground-truth value.

    Returns:
        Tensor: ``(K, K)`` int64.

    Raises:
        ValueError: If the shapes differ.
    """
    if pred.shape != gt.shape:
        raise ValueError(f'pred and gt shapes differ: {tuple(pred.shape)} '
                         f'vs {tuple(gt.shape)}')
    keep = gt != ignore_index
    index = gt[keep].long() * num_classes + pred[keep].long()
    return torch.bincount(index, minlength=num_classes**2).reshape(
        num_classes, num_classes)


def iou_scores(matrix: torch.Tensor) -> dict:
    """aAcc, mIoU and mAcc in percent from a confusion matrix.

    Classes absent from both the ground truth and the predictions are left
    out of the means (mmseg's ``IoUMetric`` ``nan`` handling).

    Args:
        matrix (Tensor): ``(K, K)`` counts, rows ground truth.

    Returns:
        dict: ``{'aAcc', 'mIoU', 'mAcc'}`` floats in [0, 100] and
        ``'IoU'``, the per-class list (``nan`` for absent classes).
    """
    matrix = matrix.double()
    hits = matrix.diag()
    gt_count, pred_count = matrix.sum(1), matrix.sum(0)
    iou = hits / (gt_count + pred_count - hits)
    acc = hits / gt_count
    return dict(aAcc=(hits.sum() / matrix.sum()).item() * 100,
                mIoU=iou.nanmean().item() * 100,
                mAcc=acc.nanmean().item() * 100,
                IoU=(iou * 100).tolist())


@METRICS.register_module()
class IoUMetric(BaseMetric):
    """Mean intersection over union, pixel accuracy (``aAcc``) and mean
    class accuracy (``mAcc``), in percent, over the whole set (mmseg's
    ``IoUMetric`` names).

    Reads ``pred_sem_seg`` and ``gt_sem_seg`` (``(1, H, W)``) of each sample;
    the class count is ``len(dataset_meta['classes'])``.

    Args:
        ignore_index (int): Ignored ground-truth label. Defaults to 255.
        collect_device (str): 'cpu' or 'gpu' for gathering across ranks.
        prefix (str, optional): Key prefix.
    """

    def __init__(self, ignore_index: int = 255, collect_device='cpu',
                 prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ignore_index = ignore_index

    def process(self, data_batch, data_samples: Sequence[dict]):
        num_classes = len(self.dataset_meta['classes'])
        for sample in data_samples:
            self.results.append(confusion_matrix(
                sample['pred_sem_seg']['data'].cpu(),
                sample['gt_sem_seg']['data'].cpu(), num_classes,
                self.ignore_index))

    def compute_metrics(self, results) -> dict:
        scores = iou_scores(torch.stack(results).sum(0))
        return {k: round(scores[k], 2) for k in ('aAcc', 'mIoU', 'mAcc')}
