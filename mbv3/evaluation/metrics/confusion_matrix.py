"""Confusion matrix of a classifier's predictions."""
from typing import Sequence

import torch
from mmengine.evaluator import BaseMetric

from mbv3.registry import METRICS
from mbv3.utils.checks import check_int


@METRICS.register_module()
class ConfusionMatrix(BaseMetric):
    """Counts of (true class, predicted class) pairs, logged as
    ``confusion_matrix/result``: a ``(K, K)`` int64 tensor whose row ``t``,
    column ``p`` counts images of class ``t`` predicted as ``p``
    (mmpretrain's ``ConfusionMatrix`` key and layout).

    Args:
        num_classes (int, optional): ``K``. Defaults to the length of the
            scores.
        collect_device (str): 'cpu' or 'gpu' for gathering across ranks.
        prefix (str): Key prefix. Defaults to 'confusion_matrix'.

    Raises:
        ValueError: If ``num_classes`` is not a positive int.
    """
    default_prefix = 'confusion_matrix'

    def __init__(self, num_classes=None, collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if num_classes is not None:
            check_int('num_classes', num_classes, low=1,
                      allowed='a positive int or None')
        self.num_classes = num_classes

    def process(self, data_batch, data_samples: Sequence[dict]):
        for sample in data_samples:
            self.results.append(
                dict(pred_label=int(sample['pred_score'].argmax()),
                     gt_label=int(sample['gt_label']),
                     num_classes=sample['pred_score'].numel()))

    def compute_metrics(self, results) -> dict:
        num = self.num_classes or results[0]['num_classes']
        pred = torch.tensor([r['pred_label'] for r in results])
        true = torch.tensor([r['gt_label'] for r in results])
        return dict(result=self.calculate(pred, true, num))

    @staticmethod
    def calculate(pred: torch.Tensor, true: torch.Tensor,
                  num_classes: int) -> torch.Tensor:
        """``(K, K)`` counts from ``(N,)`` predicted and true labels.

        Raises:
            ValueError: If a label is outside ``[0, num_classes)``.
        """
        for name, labels in (('pred', pred), ('true', true)):
            if labels.numel() and not 0 <= int(labels.min()) <= int(
                    labels.max()) < num_classes:
                raise ValueError(f'{name} labels must be in [0, '
                                 f'{num_classes}), got range '
                                 f'[{int(labels.min())}, '
                                 f'{int(labels.max())}]')
        flat = true.long() * num_classes + pred.long()
        return torch.bincount(flat, minlength=num_classes**2).reshape(
            num_classes, num_classes)
