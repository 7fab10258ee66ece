"""The data sample passed between dataset, model and metric."""
from typing import Sequence, Union

import numpy as np
import torch
from mmengine.structures import BaseDataElement


def _as_label(value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.reshape(-1).long()
    return torch.as_tensor(np.asarray(value)).reshape(-1).long()


class DataSample(BaseDataElement):
    """Labels and predictions of one image (mmpretrain's ``DataSample``).

    Fields: ``gt_label`` (LongTensor ``(1,)``), ``pred_label`` (LongTensor
    ``(1,)``), ``pred_score`` (FloatTensor ``(K,)``, softmax scores); meta
    such as ``img_path``, ``ori_shape`` and ``img_shape``.
    """

    def set_gt_label(self, value: Union[int, Sequence, torch.Tensor]):
        self.gt_label = _as_label(value)
        return self

    def set_pred_label(self, value: Union[int, Sequence, torch.Tensor]):
        self.pred_label = _as_label(value)
        return self

    def set_pred_score(self, value: torch.Tensor):
        if value.dim() != 1:
            raise ValueError(f'pred_score must be 1-D (num_classes,), got '
                             f'shape {tuple(value.shape)}')
        self.pred_score = value
        return self
