"""Backbone feature maps of a photo, as a picture.

Each row is one backbone layer: the mean activation over channels, then
the channels with the largest mean activation (the "strongest" ones).
"""
from typing import Dict, List, Sequence

import numpy as np
import torch

from mbv3.models.backbones.mobilenet_v3 import LayerSpec
from mbv3.utils.checks import check_int
from .figure import new_figure, save_figure
from .outputs import selected_outputs


def default_layers(backbone) -> List[int]:
    """The last layer at each stride: where a detector or segmentor would
    tap (``[1, 3, 8, 12]`` plus the stem for Small)."""
    strides = sorted({spec.stride for spec in backbone.layer_specs})
    return [spec.index
            for spec in backbone.output_specs(out_strides=strides)]


@torch.no_grad()
def extract_layers(backbone, inputs: torch.Tensor,
                   layers: Sequence) -> Dict[LayerSpec, torch.Tensor]:
    """Outputs of backbone layers, selected through the backbone's own
    ``out_indices`` (whatever it returns otherwise).

    Args:
        backbone (MobileNetV3): In eval mode.
        inputs (Tensor): ``(1, C, H, W)``, normalised.
        layers (Sequence): ``out_indices`` entries: layer numbers, negative
            from the end, or ``'<i>.expand'`` taps.

    Returns:
        dict[LayerSpec, Tensor]: ``spec -> (1, C_i, ceil(H/s_i),
        ceil(W/s_i))``, in the order given.

    Raises:
        ValueError: For an entry the backbone does not accept.
    """
    with selected_outputs(backbone, layers) as specs:
        return dict(zip(specs, backbone(inputs)))


def strongest_channels(feature: torch.Tensor, num: int) -> List[int]:
    """Channels of a ``(1, C, H, W)`` map with the largest spatial mean,
    largest first (at most ``C``)."""
    means = feature[0].float().mean(dim=(1, 2))
    return means.argsort(descending=True)[:num].tolist()


def plot_feature_maps(image: np.ndarray,
                      features: Dict[LayerSpec, torch.Tensor], out_png: str, size=(1200, 800),
                      num_channels: int = 4) -> str:
    """Draw the photo and, per layer, the mean map and strongest channels.

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8 RGB, shown top left.
        features (dict[LayerSpec, Tensor]): From :func:`extract_layers`;
            the specs give each row's channels and stride.
        out_png (str): Output path (``.png``).
        size (tuple[int, int]): ``(width, height)`` of the PNG in pixels.
        num_channels (int): Strongest channels per row, >= 1.

    Returns:
        str: ``out_png``.

    Raises:
        ValueError: Bad ``size``, ``num_channels`` or output extension.
    """
    check_int('num_channels', num_channels, low=1)
    fig = new_figure(size)
    rows, cols = len(features), num_channels + 2
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    axes[0, 0].imshow(image)
    axes[0, 0].set_title('input', fontsize=8)
    for row, (spec, feature) in enumerate(features.items()):
        axes[row, 1].imshow(feature[0].float().mean(0).numpy(),
                            cmap='viridis')
        axes[row, 1].set_title(f'layer {spec.index}: {spec.channels}ch /'
                               f'{spec.stride}\nmean', fontsize=7)
        for col, channel in enumerate(
                strongest_channels(feature, num_channels), start=2):
            axes[row, col].imshow(feature[0, channel].float().numpy(),
                                  cmap='viridis')
            axes[row, col].set_title(f'ch {channel}', fontsize=7)
    fig.tight_layout(pad=0.3, h_pad=0.4, w_pad=0.2)
    return save_figure(fig, out_png)
