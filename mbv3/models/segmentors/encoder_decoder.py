"""Semantic segmentor: backbone -> optional neck -> decode head."""
from typing import List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import PixelData

from mbv3.registry import MODELS
from mbv3.structures import DataSample
from mbv3.models.pretrained import CheckedPretrainedMixin
from ..builder import build_encoder, build_fed_by


@MODELS.register_module()
class EncoderDecoder(CheckedPretrainedMixin, BaseModel):
    """Backbone, optional neck, a decode head such as :class:`LRASPPHead`,
    and a pixel-wise loss on logits resized to the input (mmseg's
    ``EncoderDecoder`` config fields ``backbone``, ``neck``,
    ``decode_head``, ``data_preprocessor``).

    ``forward(inputs, data_samples=None, mode='tensor')``:

    * ``'tensor'``: logits ``(N, K, H, W)`` at the input size;
    * ``'loss'``: ``dict(loss_ce=...)``; samples carry ``gt_sem_seg``
      (``(1, H, W)``, padded like the inputs);
    * ``'predict'``: samples with ``seg_logits`` ``(K, h, w)`` and
      ``pred_sem_seg`` ``(1, h, w)`` at each sample's ``ori_shape``
      (padding cropped off by ``img_shape`` first).

    Args:
        backbone (dict): Backbone config, e.g. ``dict(type='MobileNetV3',
            arch='large', out_indices=(4, 16), output_stride=16)``.
        decode_head (dict): Head config; its output has ``num_classes``
            channels. A neck or head config without ``in_channels`` gets
            the widths of what feeds it (the backbone's ``out_channels``).
        neck (dict, optional): Neck config.
        loss_decode (dict): Loss config. Defaults to cross-entropy that
            ignores label 255.
        align_corners (bool): ``F.interpolate`` flag of the resizes.
        data_preprocessor (dict, optional): Defaults to
            ``SegDataPreprocessor`` without normalisation.
        init_cfg (dict, optional): mmengine init config.
        pretrained (str, optional): mmseg's field, passed on to the
            backbone (whose ``pretrained=`` is deprecated in favour of
            ``init_cfg``).

    Raises:
        ValueError: For an unknown ``mode``, or ``pretrained`` given here
            and in ``backbone``.
    """

    def __init__(self, backbone: dict, decode_head: dict,
                 neck: Optional[dict] = None,
                 loss_decode=dict(type='mbv3.CrossEntropyLoss',
                                  ignore_index=255),
                 align_corners: bool = False,
                 data_preprocessor: Optional[dict] = None, init_cfg=None,
                 pretrained: Optional[str] = None):
        if pretrained is not None:
            if backbone.get('pretrained') is not None:
                raise ValueError(
                    f'pretrained is given to both EncoderDecoder '
                    f'({pretrained!r}) and its backbone '
                    f"({backbone['pretrained']!r}); give it once")
            backbone = dict(backbone, pretrained=pretrained)
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'mbv3.SegDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        channels = build_encoder(self, backbone, neck)
        self.decode_head = build_fed_by(decode_head, channels)
        self.loss_decode = MODELS.build(loss_decode)
        self.align_corners = align_corners

    def extract_feat(self, inputs: torch.Tensor):
        """Backbone (and neck) features: a tuple of tensors."""
        x = self.backbone(inputs)
        if hasattr(self, 'neck'):
            x = self.neck(x)
        return x

    def _logits(self, inputs: torch.Tensor) -> torch.Tensor:
        logits = self.decode_head(self.extract_feat(inputs))
        return self._resize(logits, inputs.shape[2:])

    def _resize(self, x, size):
        if tuple(x.shape[-2:]) == tuple(size):
            return x
        return F.interpolate(x, size=tuple(size), mode='bilinear',
                             align_corners=self.align_corners)

    def forward(self, inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        if mode == 'tensor':
            return self._logits(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got "
                         f'{mode!r}')

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> dict:
        """Pixel-wise loss of ``(N, K, H, W)`` logits against the stacked
        ``gt_sem_seg`` ``(N, H, W)``."""
        target = torch.stack([s.gt_sem_seg.data[0] for s in data_samples])
        return dict(loss_ce=self.loss_decode(self._logits(inputs), target))

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """Per-sample logits and labels at each ``ori_shape``."""
        logits = self._logits(inputs)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(inputs))]
        for sample, logit in zip(data_samples, logits):
            height, width = sample.metainfo.get('img_shape', logit.shape[1:])
            logit = logit[:, :height, :width]
            ori = sample.metainfo.get('ori_shape', logit.shape[1:])
            logit = self._resize(logit[None], ori[:2])[0]
            sample.seg_logits = PixelData(data=logit)
            sample.pred_sem_seg = PixelData(data=logit.argmax(0, True))
        return data_samples
