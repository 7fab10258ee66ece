"""Classification losses with mmpretrain's config fields and numbers."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mbv3.registry import MODELS
from mbv3.utils.checks import check_fraction

REDUCTIONS = ('mean', 'sum', 'none')


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """Softmax cross-entropy with optional class weights and label
    smoothing: mmpretrain's ``CrossEntropyLoss`` (same fields and values)
    plus torch's ``label_smoothing`` and ``ignore_index``.

    Per element: ``torch.nn.functional.cross_entropy(..., weight=
    class_weight, label_smoothing=label_smooth_val, reduction='none')``,
    i.e. ``-sum_k w_k q_k log p_k`` with ``q`` the (smoothed) one-hot
    target. ``'mean'`` divides the sum by the number of targets that are
    not ``ignore_index``, not by the summed class weights as torch's
    ``'mean'`` does: mmpretrain's ``weight_reduce_loss`` (and mmseg's
    ``avg_non_ignore=True``).

    Shape: logits ``(N, K)``, targets ``(N,)`` class indices; per pixel,
    ``(N, K, H, W)`` and ``(N, H, W)``. The loss is a scalar, or the
    per-element losses ``(N,)`` / ``(N, H, W)`` for ``reduction='none'``.

    Args:
        use_sigmoid (bool): Only False: mmpretrain's binary cross-entropy
            is not implemented.
        reduction (str): 'mean', 'sum' or 'none'. Defaults to 'mean'.
        loss_weight (float): Multiplies the loss. Defaults to 1.
        class_weight (Sequence[float], optional): Weight ``w_k`` of each of
            the ``K`` classes.
        label_smooth_val (float): Smoothing in [0, 1). Defaults to 0.
        ignore_index (int): Target value left out (255 for segmentation
            masks). Defaults to -100, torch's.

    Raises:
        ValueError: For ``use_sigmoid=True``, an unknown ``reduction``,
            ``label_smooth_val`` outside [0, 1), and (in ``forward``) a
            ``class_weight`` whose length is not ``K``.
    """

    def __init__(self, use_sigmoid: bool = False, reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 class_weight: Optional[Sequence[float]] = None,
                 label_smooth_val: float = 0.0, ignore_index: int = -100):
        super().__init__()
        if use_sigmoid:
            raise ValueError(
                f'{type(self).__name__} use_sigmoid must be False or None: '
                'mbv3 trains single-label softmax classifiers, and the binary '
                '(multi-label) cross-entropy of mmpretrain is not implemented;'
                f' got use_sigmoid={use_sigmoid!r}')
        if reduction not in REDUCTIONS:
            raise ValueError(f'reduction must be one of {REDUCTIONS}, got '
                             f'{reduction!r}')
        check_fraction('label_smooth_val', label_smooth_val)
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.class_weight = None if class_weight is None else \
            [float(w) for w in class_weight]
        self.label_smooth_val = label_smooth_val
        self.ignore_index = ignore_index

    def forward(self, cls_score: torch.Tensor,
                label: torch.Tensor) -> torch.Tensor:
        weight = None
        if self.class_weight is not None:
            if len(self.class_weight) != cls_score.shape[1]:
                raise ValueError(
                    f'class_weight has {len(self.class_weight)} entries, '
                    f'the scores {cls_score.shape[1]} classes')
            weight = cls_score.new_tensor(self.class_weight)
        loss = F.cross_entropy(cls_score, label, weight=weight,
                               ignore_index=self.ignore_index,
                               label_smoothing=self.label_smooth_val,
                               reduction='none')
        if self.reduction == 'sum':
            loss = loss.sum()
        elif self.reduction == 'mean' and label.is_floating_point():
            loss = loss.sum() / max(loss.numel(), 1)
        elif self.reduction == 'mean':
            # a tensor count: no host-device sync, no graph break
            kept = (label != self.ignore_index).sum().clamp_(min=1)
            loss = loss.sum() / kept
        return self.loss_weight * loss


@MODELS.register_module()
class LabelSmoothLoss(CrossEntropyLoss):
    """mmpretrain's ``LabelSmoothLoss``: cross-entropy against
    ``(1 - eps) * one_hot + eps / K`` (mode 'original', torch's
    ``label_smoothing``), or ClassyVision's ``(one_hot + eps / K) / (1 +
    eps)``, which is 'original' with ``eps / (1 + eps)``.

    Args:
        label_smooth_val (float): ``eps`` in [0, 1).
        num_classes (int, optional): When given, the scores must have this
            many classes.
        use_sigmoid (bool, optional): Only None or False (mmpretrain's
            'multi_label' mode and binary cross-entropy are not
            implemented).
        mode (str): 'original' or 'classy_vision'.
        reduction (str): 'mean', 'sum' or 'none'.
        loss_weight (float): Multiplies the loss. Defaults to 1.
        class_weight (Sequence[float], optional): Weight of each class, as
            mmpretrain applies it to the smoothed target.

    Raises:
        ValueError: For another ``mode``, ``use_sigmoid=True``, and (in
            ``forward``) scores whose class count is not ``num_classes``.
    """

    def __init__(self, label_smooth_val: float,
                 num_classes: Optional[int] = None, use_sigmoid=None,
                 mode: str = 'original', reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 class_weight: Optional[Sequence[float]] = None):
        if mode not in ('original', 'classy_vision'):
            raise ValueError(f"LabelSmoothLoss mode must be 'original' or "
                             f"'classy_vision', got {mode!r}")
        if mode == 'classy_vision':
            label_smooth_val = label_smooth_val / (1 + label_smooth_val)
        super().__init__(use_sigmoid=use_sigmoid, reduction=reduction,
                         loss_weight=loss_weight, class_weight=class_weight,
                         label_smooth_val=label_smooth_val)
        self.num_classes = num_classes

    def forward(self, cls_score: torch.Tensor,
                label: torch.Tensor) -> torch.Tensor:
        if self.num_classes is not None and \
                cls_score.shape[1] != self.num_classes:
            raise ValueError(f'LabelSmoothLoss num_classes is '
                             f'{self.num_classes}, but the scores have '
                             f'{cls_score.shape[1]} classes')
        return super().forward(cls_score, label)
