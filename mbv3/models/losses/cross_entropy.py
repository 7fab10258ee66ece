"""Classification losses."""
import torch
import torch.nn.functional as F
from torch import nn

from mbv3.registry import MODELS


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """Softmax cross-entropy with optional label smoothing.

    Config names follow mmpretrain (``loss_weight``); ``label_smooth_val``
    is mmpretrain's ``LabelSmoothLoss`` argument, applied as in
    ``torch.nn.functional.cross_entropy(label_smoothing=...)``.

    Shape: logits ``(N, K)``, targets ``(N,)`` class indices -> scalar;
    per pixel, logits ``(N, K, H, W)`` and targets ``(N, H, W)``.

    Args:
        loss_weight (float): Multiplies the loss. Defaults to 1.
        label_smooth_val (float): Smoothing in [0, 1). Defaults to 0.
        ignore_index (int): Target value left out of the mean (255 for
            segmentation masks). Defaults to -100, torch's.

    Raises:
        ValueError: If ``label_smooth_val`` is outside [0, 1).
    """

    def __init__(self, loss_weight: float = 1.0,
                 label_smooth_val: float = 0.0, ignore_index: int = -100,
                 **kwargs):
        super().__init__()
        if not 0 <= label_smooth_val < 1:
            raise ValueError(f'label_smooth_val must be in [0, 1), got '
                             f'{label_smooth_val!r}')
        self.loss_weight = loss_weight
        self.label_smooth_val = label_smooth_val
        self.ignore_index = ignore_index

    def forward(self, cls_score: torch.Tensor,
                label: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * F.cross_entropy(
            cls_score, label, label_smoothing=self.label_smooth_val,
            ignore_index=self.ignore_index)


@MODELS.register_module()
class LabelSmoothLoss(CrossEntropyLoss):
    """mmpretrain's name for cross-entropy with label smoothing.

    Args:
        label_smooth_val (float): Smoothing in [0, 1).
        loss_weight (float): Multiplies the loss. Defaults to 1.
        mode (str): Only mmpretrain's 'original' is supported.

    Raises:
        ValueError: For another ``mode``.
    """

    def __init__(self, label_smooth_val: float, loss_weight: float = 1.0,
                 mode: str = 'original', **kwargs):
        if mode != 'original':
            raise ValueError(f"LabelSmoothLoss mode must be 'original', got "
                             f'{mode!r}')
        super().__init__(loss_weight=loss_weight,
                         label_smooth_val=label_smooth_val)
