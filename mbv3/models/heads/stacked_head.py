"""The classification head MobileNetV3 uses (paper Fig. 5, "Efficient last
stage"): pooled features -> 1x1 (here linear) layer + h-swish -> dropout ->
classifier."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import nn

from mbv3.registry import MODELS
from mbv3.structures import DataSample
from mbv3.utils.checks import check_fraction, check_int
from ..layers import build_activation, build_norm


class LinearBlock(nn.Module):
    """``fc -> [norm] -> [act] -> [dropout]`` with mmpretrain's child names
    (``fc``, ``norm``, ``act``, ``dropout``).

    Shape: ``(N, in_channels) -> (N, out_channels)``.
    """

    def __init__(self, in_channels, out_channels, dropout_rate=0.0,
                 norm_cfg=None, act_cfg=None, bias=True):
        super().__init__()
        self.fc = nn.Linear(in_channels, out_channels, bias=bias)
        self.norm = build_norm(norm_cfg, out_channels)[1] \
            if norm_cfg else None
        self.act = build_activation(act_cfg) if act_cfg else None
        self.dropout = nn.Dropout(dropout_rate) if dropout_rate > 0 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fc(x)
        if self.norm is not None:
            x = self.norm(x)
        if self.act is not None:
            x = self.act(x)
        if self.dropout is not None:
            x = self.dropout(x)
        return x


def _skip_mismatched_shapes(module, state_dict, prefix, *args):
    """Load-time hook: drop the checkpoint's head parameters whose shape
    differs from the model's (another class count), so that those layers
    keep their initial values, and log their names. A strict load then fails
    on them as missing keys; a non-strict one (``load_from``, ``Pretrained``
    init) fine-tunes from the rest. Buffers are left to their modules (a
    fake-quantizer resizes its per-channel ranges as it loads them)."""
    own = {prefix + k: v.shape for k, v in module.named_parameters()}
    skipped = [k for k, shape in own.items()
               if k in state_dict and state_dict[k].shape != shape]
    for key in skipped:
        del state_dict[key]
    if skipped:
        MMLogger.get_current_instance().warning(
            f'head shapes differ from the checkpoint\'s (another class '
            f'count?): keeping the initial {", ".join(skipped)}')


@MODELS.register_module()
class StackedLinearClsHead(BaseModule):
    """Hidden linear layers then a linear classifier (mmpretrain's
    ``StackedLinearClsHead``; torchvision's MobileNetV3 ``classifier``).

    For MobileNetV3 large: 960 -> 1280 -> K, small: 576 -> 1024 -> K, with
    h-swish and dropout 0.2 after the hidden layer. When a checkpoint's
    head has other shapes (another class count), loading keeps this head's
    initial values for those tensors and logs their names.

    Shape: tuple of features whose last is ``(N, in_channels)`` -> logits
    ``(N, num_classes)``.

    Args:
        num_classes (int): ``K`` >= 1.
        in_channels (int): Width of the pooled feature.
        mid_channels (Sequence[int]): Widths of the hidden layers.
        dropout_rate (float): Dropout after each hidden layer, in [0, 1).
        norm_cfg (dict, optional): Norm after each hidden fc.
        act_cfg (dict): Activation after each hidden layer. Defaults to
            ``dict(type='HSwish')``.
        hidden_bias (bool): Bias on the hidden fcs. Defaults to True.
        loss (dict): Loss config. Defaults to cross-entropy.
        topk (int | tuple): Kept for mmpretrain config compatibility
            (accuracy is computed by :class:`mbv3.evaluation.Accuracy`).
        init_cfg (dict, optional): mmengine init config, e.g. mmpretrain's
            ``dict(type='Normal', layer='Linear', std=0.01)``.

    Raises:
        ValueError: If ``num_classes``, ``mid_channels`` or
            ``dropout_rate`` is out of range.
    """

    def __init__(self, num_classes: int, in_channels: int,
                 mid_channels: Sequence[int], dropout_rate: float = 0.0,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = dict(type='HSwish'),
                 hidden_bias: bool = True,
                 loss: dict = dict(type='mbv3.CrossEntropyLoss',
                                   loss_weight=1.0),
                 topk=(1, ), init_cfg=None):
        super().__init__(init_cfg)
        check_int('num_classes', num_classes, low=1)
        if isinstance(mid_channels, int):
            mid_channels = [mid_channels]
        if not isinstance(mid_channels, Sequence) or not all(
                isinstance(c, int) and c >= 1 for c in mid_channels):
            raise ValueError(f'mid_channels must be a sequence of ints >= 1, '
                             f'got {mid_channels!r}')
        check_fraction('dropout_rate', dropout_rate)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.loss_module = MODELS.build(loss) if isinstance(loss, dict) \
            else loss
        self.layers = nn.ModuleList()
        for width in mid_channels:
            self.layers.append(
                LinearBlock(in_channels, width, dropout_rate, norm_cfg,
                            act_cfg, bias=hidden_bias))
            in_channels = width
        self.layers.append(LinearBlock(in_channels, num_classes))
        self.register_load_state_dict_pre_hook(_skip_mismatched_shapes)

    def _pooled(self, feats) -> torch.Tensor:
        """The last of ``feats``, checked to be ``(N, in_channels)``."""
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f'StackedLinearClsHead expects pooled features '
                             f'(N, {self.in_channels}), got shape '
                             f'{tuple(x.shape)}')
        return x

    def pre_logits(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The last hidden layer's output, ``(N, mid_channels[-1])``."""
        x = self._pooled(feats)
        for layer in self.layers[:-1]:
            x = layer(x)
        return x

    def forward(self, feats) -> torch.Tensor:
        """Logits ``(N, num_classes)``. Runs the layers in one loop:
        slicing off the classifier as :meth:`pre_logits` does builds a new
        ``ModuleList`` per call."""
        x = self._pooled(feats)
        for layer in self.layers:
            x = layer(x)
        return x

    def loss(self, feats, data_samples) -> dict:
        """``dict(loss=...)`` over the targets: a label tensor ``(N,)``
        (:func:`~mbv3.datasets.collate_batch`) or the ``gt_label`` of each
        data sample."""
        logits = self(feats)
        return dict(loss=self.loss_module(
            logits, _targets(data_samples).to(logits.device)))

    def predict(self, feats, data_samples=None) -> List[DataSample]:
        """A data sample per image with ``pred_score`` (softmax) and
        ``pred_label``: the given data samples, or new ones, which get
        ``gt_label`` from a label tensor ``(N,)`` when one is given."""
        scores = F.softmax(self(feats), dim=1)
        labels = scores.argmax(dim=1)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(scores.shape[0])]
        elif isinstance(data_samples, torch.Tensor):
            data_samples = [DataSample().set_gt_label(label)
                            for label in data_samples.cpu()]
        for sample, score, label in zip(data_samples, scores, labels):
            sample.set_pred_score(score).set_pred_label(label)
        return data_samples


def _targets(data_samples) -> torch.Tensor:
    if isinstance(data_samples, torch.Tensor):
        return data_samples
    return torch.cat([s.gt_label for s in data_samples])
