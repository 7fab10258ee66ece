"""Backbone feature maps of a photo, as a picture.

Each row is one backbone layer: the mean activation over channels, then
the channels with the largest mean activation (the "strongest" ones).
"""
from typing import Dict, List, Sequence

import numpy as np
import torch

from .figure import new_figure, save_figure


def default_layers(backbone) -> List[int]:
    """The last layer at each stride: where a detector or segmentor would
    tap (``[1, 3, 8, 12]`` plus the stem for Small)."""
    last_at = {}
    for spec in backbone.layer_info:
        last_at[spec.stride] = spec.index
    return sorted(last_at.values())


def _normalise_layers(backbone, layers: Sequence[int]) -> List[int]:
    num = len(backbone.layer_info)
    out = []
    for index in layers:
        if not isinstance(index, int) or not -num <= index < num:
            raise ValueError(f'layers entries must be ints in [{-num}, '
                             f'{num - 1}], got {index!r}')
        out.append(index % num)
    return out


@torch.no_grad()
def extract_layers(backbone, inputs: torch.Tensor,
                   layers: Sequence[int]) -> Dict[int, torch.Tensor]:
    """Outputs of backbone layers, by forward hooks (whatever the
    backbone's own ``out_indices``).

    Args:
        backbone (MobileNetV3): In eval mode.
        inputs (Tensor): ``(1, C, H, W)``, normalised.
        layers (Sequence[int]): Layer indices, negative from the end.

    Returns:
        dict[int, Tensor]: ``index -> (1, C_i, ceil(H/s_i), ceil(W/s_i))``.

    Raises:
        ValueError: For an index out of range.
    """
    captured = {}
    handles = [
        getattr(backbone, f'layer{i}').register_forward_hook(
            lambda mod, args, out, i=i: captured.__setitem__(i, out))
        for i in _normalise_layers(backbone, layers)
    ]
    try:
        backbone(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return captured


def strongest_channels(feature: torch.Tensor, num: int) -> List[int]:
    """Channels of a ``(1, C, H, W)`` map with the largest spatial mean,
    largest first (at most ``C``)."""
    means = feature[0].float().mean(dim=(1, 2))
    return means.argsort(descending=True)[:num].tolist()


def plot_feature_maps(image: np.ndarray, features: Dict[int, torch.Tensor],
                      backbone, out_png: str, size=(1200, 800),
                      num_channels: int = 4) -> str:
    """Draw the photo and, per layer, the mean map and strongest channels.

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8 RGB, shown top left.
        features (dict[int, Tensor]): From :func:`extract_layers`.
        backbone (MobileNetV3): For each layer's channels and stride.
        out_png (str): Output path (``.png``).
        size (tuple[int, int]): ``(width, height)`` of the PNG in pixels.
        num_channels (int): Strongest channels per row, >= 1.

    Returns:
        str: ``out_png``.

    Raises:
        ValueError: Bad ``size``, ``num_channels`` or output extension.
    """
    if not isinstance(num_channels, int) or num_channels < 1:
        raise ValueError(f'num_channels must be an int >= 1, got '
                         f'{num_channels!r}')
    fig = new_figure(size)
    rows, cols = len(features), num_channels + 2
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    axes[0, 0].imshow(image)
    axes[0, 0].set_title('input', fontsize=8)
    for row, (index, feature) in enumerate(sorted(features.items())):
        spec = backbone.layer_info[index]
        axes[row, 1].imshow(feature[0].float().mean(0).numpy(),
                            cmap='viridis')
        axes[row, 1].set_title(f'layer {index}: {spec.channels}ch /'
                               f'{spec.stride}\nmean', fontsize=7)
        for col, channel in enumerate(
                strongest_channels(feature, num_channels), start=2):
            axes[row, col].imshow(feature[0, channel].float().numpy(),
                                  cmap='viridis')
            axes[row, col].set_title(f'ch {channel}', fontsize=7)
    fig.tight_layout(pad=0.3, h_pad=0.4, w_pad=0.2)
    return save_figure(fig, out_png)
