"""mbv3's backbone inside torchvision's detection models.

torchvision's detectors take any module with an ``out_channels`` attribute
whose forward returns an ``OrderedDict`` of feature maps. This module
provides that contract for :class:`~mbv3.models.MobileNetV3` (with
torchvision's ``FeaturePyramidNetwork``, as torchvision's
``BackboneWithFPN``) and a Faster R-CNN factory with the layout of
torchvision's ``fasterrcnn_mobilenet_v3_large_fpn``. Importing it needs
torchvision; ``import mbv3`` does not.
"""
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import torch
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.ops.feature_pyramid_network import (FeaturePyramidNetwork,
                                                     LastLevelMaxPool)

from mbv3.models import MobileNetV3

# torchvision fasterrcnn_mobilenet_v3_large_fpn: its FPN reads
# features.13 and features.16 (the first block of the last stage and the
# last conv); mbv3's layer i is features[i].
FASTERRCNN_OUT_INDICES = (13, 16)
# torchvision _fasterrcnn_mobilenet_v3_large_fpn anchors, per feature map.
ANCHOR_SIZES = (32, 64, 128, 256, 512)
ASPECT_RATIOS = (0.5, 1.0, 2.0)
# torchvision fasterrcnn_mobilenet_v3_large_fpn: its `defaults`, and the
# nn.BatchNorm2d (eps 1e-5) it passes to mobilenet_v3_large as norm_layer.
TORCHVISION_DEFAULTS = dict(rpn_score_thresh=0.05)
TORCHVISION_BACKBONE = dict(norm_cfg=dict(type='BN', eps=1e-5))


class MobileNetV3WithFPN(nn.Module):
    """A :class:`MobileNetV3` followed by torchvision's
    ``FeaturePyramidNetwork``: a drop-in for torchvision's
    ``BackboneWithFPN``.

    Shape: ``(N, 3, H, W)`` -> ``OrderedDict`` ``'0'``, ``'1'``, ...
    (one per backbone output, stride ``feature_info[i].stride``) and
    ``'pool'`` (max-pooled last map), each ``(N, out_channels, h, w)``.

    Args:
        backbone (MobileNetV3): Built with the ``out_indices`` to feed the
            FPN, finest first.
        out_channels (int): FPN width. Defaults to 256.
        extra_blocks (nn.Module, optional): torchvision FPN extra block;
            defaults to ``LastLevelMaxPool()``.
    """

    def __init__(self, backbone: MobileNetV3, out_channels: int = 256,
                 extra_blocks: Optional[nn.Module] = None):
        super().__init__()
        self.body = backbone
        self.fpn = FeaturePyramidNetwork(
            list(backbone.out_channels), out_channels,
            extra_blocks=extra_blocks or LastLevelMaxPool())
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        feats = self.body(x)
        return self.fpn(OrderedDict(
            (str(i), feat) for i, feat in enumerate(feats)))


def fasterrcnn_mobilenet_v3(arch: str = 'large', num_classes: int = 91,
                            out_indices: Sequence = FASTERRCNN_OUT_INDICES,
                            fpn_out_channels: int = 256,
                            backbone_cfg: Optional[dict] = None,
                            **kwargs) -> FasterRCNN:
    """torchvision Faster R-CNN on an mbv3 backbone with an FPN.

    With the defaults this is torchvision's
    ``fasterrcnn_mobilenet_v3_large_fpn`` (with the same weights, the same
    detections): FPN on layers 13 and 16 plus a max-pooled level, anchors
    (32..512) x (0.5, 1, 2) at each of the three maps, backbone BN eps 1e-5
    (torchvision builds this backbone with plain ``BatchNorm2d``, or
    ``FrozenBatchNorm2d`` for pretrained weights, not the 1e-3 of its
    classifier) and ``rpn_score_thresh=0.05``.

    Args:
        arch (str): mbv3 arch, e.g. 'large' or 'small'.
        num_classes (int): Classes including the background.
        out_indices (Sequence): Backbone taps fed to the FPN, finest first.
            For 'small' torchvision's equivalent is ``(9, 12)``.
        fpn_out_channels (int): FPN width. Defaults to 256.
        backbone_cfg (dict, optional): More :class:`MobileNetV3` arguments
            (``widen_factor``, ``frozen_stages``, ``norm_cfg``, ...);
            ``norm_cfg`` defaults to ``dict(type='BN', eps=1e-5)``.
        **kwargs: Passed to torchvision's ``FasterRCNN`` (``min_size``,
            ``max_size``, ...); ``rpn_score_thresh`` defaults to 0.05.

    Returns:
        FasterRCNN: The detector (``model(images, targets)`` in train mode
        gives the loss dict, ``model(images)`` in eval mode the boxes).
    """
    backbone_cfg = dict(TORCHVISION_BACKBONE, **(backbone_cfg or {}))
    backbone = MobileNetV3(arch, out_indices=out_indices, **backbone_cfg)
    body = MobileNetV3WithFPN(backbone, fpn_out_channels)
    num_maps = len(backbone.out_indices) + 1
    anchors = AnchorGenerator((ANCHOR_SIZES, ) * num_maps,
                              (ASPECT_RATIOS, ) * num_maps)
    return FasterRCNN(body, num_classes=num_classes,
                      rpn_anchor_generator=anchors,
                      **dict(TORCHVISION_DEFAULTS, **kwargs))
