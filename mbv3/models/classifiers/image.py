"""Image classifier: backbone -> neck -> head."""
from typing import List, Optional

import torch
from mmengine.model import BaseModel

from mbv3.registry import MODELS
from mbv3.structures import DataSample
from mbv3.models.pretrained import CheckedPretrainedMixin
from ..builder import build_encoder, build_fed_by


@MODELS.register_module()
class ImageClassifier(CheckedPretrainedMixin, BaseModel):
    """Backbone, then an optional neck, then a classification head
    (mmpretrain's ``ImageClassifier``: same config fields and state-dict
    keys ``backbone.*``, ``neck.*``, ``head.*``).

    ``forward(inputs, data_samples=None, mode='tensor')``:

    * ``'tensor'``: logits ``(N, num_classes)`` from ``(N, 3, H, W)``;
    * ``'loss'``: ``dict(loss=...)``; data samples carry ``gt_label``;
    * ``'predict'``: data samples with ``pred_score`` ``(num_classes,)`` and
      ``pred_label``.

    Args:
        backbone (dict): Backbone config, e.g. ``dict(type='MobileNetV3')``.
        neck (dict, optional): Neck config (``GlobalAveragePooling``).
        head (dict, optional): Head config (``StackedLinearClsHead``).
            A neck or head config without ``in_channels`` gets the widths
            of what feeds it (the backbone's ``out_channels``; the last
            one for the head).
        pretrained (str, optional): mmpretrain's shortcut for
            ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``.
        train_cfg (dict, optional): Only None or ``{}``: mmpretrain's
            batch augments (``train_cfg=dict(augments=...)``, Mixup,
            CutMix) are not implemented.
        data_preprocessor (dict, optional): Defaults to
            ``ClsDataPreprocessor`` without normalisation.
        init_cfg (dict, optional): mmengine init config, e.g.
            ``dict(type='Pretrained', checkpoint=...)``, checked as the
            backbone's (:func:`mbv3.models.pretrained.load_pretrained`).

    Raises:
        ValueError: For a non-empty ``train_cfg``, and (in ``forward``) an
            unknown ``mode``.
    """

    def __init__(self, backbone: dict, neck: Optional[dict] = None,
                 head: Optional[dict] = None, pretrained=None,
                 train_cfg=None, data_preprocessor: Optional[dict] = None,
                 init_cfg=None):
        if train_cfg:
            raise ValueError(f'ImageClassifier train_cfg must be None or '
                             f'empty: mmpretrain\'s batch augments (Mixup, '
                             f'CutMix) are not implemented; got '
                             f'{train_cfg!r}')
        if pretrained is not None:
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        if data_preprocessor is None:
            data_preprocessor = dict(type='mbv3.ClsDataPreprocessor')
        elif isinstance(data_preprocessor, dict):
            data_preprocessor = dict(data_preprocessor)
            data_preprocessor.setdefault('type', 'mbv3.ClsDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        channels = build_encoder(self, backbone, neck)
        if head is not None:
            self.head = build_fed_by(head, channels, last_only=True)

    @property
    def with_neck(self) -> bool:
        return hasattr(self, 'neck')

    @property
    def with_head(self) -> bool:
        return hasattr(self, 'head')

    def extract_feat(self, inputs: torch.Tensor):
        """Backbone (and neck) features: a tuple of tensors."""
        x = self.backbone(inputs)
        if self.with_neck:
            x = self.neck(x)
        return x

    def forward(self, inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        if mode == 'tensor':
            feats = self.extract_feat(inputs)
            return self.head(feats) if self.with_head else feats
        if mode == 'loss':
            return self.head.loss(self.extract_feat(inputs), data_samples)
        if mode == 'predict':
            return self.head.predict(self.extract_feat(inputs), data_samples)
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got "
                         f'{mode!r}')
