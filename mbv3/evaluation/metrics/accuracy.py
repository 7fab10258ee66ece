"""Top-k accuracy."""
from typing import Sequence

import torch
from mmengine.evaluator import BaseMetric

from mbv3.registry import METRICS


@METRICS.register_module()
class Accuracy(BaseMetric):
    """Top-k accuracy in percent, logged as ``accuracy/top{k}``
    (mmpretrain's ``Accuracy`` names).

    ``k`` larger than the class count counts every sample as correct, as
    mmpretrain does.

    Args:
        topk (int | Sequence[int]): The k values. Defaults to (1, ).
        collect_device (str): 'cpu' or 'gpu' for gathering across ranks.
        prefix (str): Key prefix. Defaults to 'accuracy'.

    Raises:
        ValueError: If a k is not a positive int.
    """
    default_prefix = 'accuracy'

    def __init__(self, topk=(1, ), collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if isinstance(topk, int):
            topk = (topk, )
        if not topk or not all(isinstance(k, int) and k > 0 for k in topk):
            raise ValueError(f'topk must be positive ints, got {topk!r}')
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence[dict]):
        for sample in data_samples:
            self.results.append(dict(pred_score=sample['pred_score'].cpu(),
                                     gt_label=sample['gt_label'].cpu()))

    def compute_metrics(self, results) -> dict:
        scores = torch.stack([r['pred_score'] for r in results])
        labels = torch.cat([r['gt_label'] for r in results])
        return self.calculate(scores, labels, self.topk)

    @staticmethod
    def calculate(scores: torch.Tensor, labels: torch.Tensor,
                  topk=(1, )) -> dict:
        """Accuracy in percent for each k.

        Args:
            scores (Tensor): ``(N, K)`` scores.
            labels (Tensor): ``(N,)`` class indices.
            topk (tuple[int]): The k values.

        Returns:
            dict: ``{'top1': float, ...}``.
        """
        num_classes = scores.shape[1]
        ranked = scores.topk(min(max(topk), num_classes), dim=1).indices
        hits = ranked == labels[:, None]
        return {f'top{k}': hits[:, :k].any(dim=1).float().mean().item() * 100
                for k in topk}
