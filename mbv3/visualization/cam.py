"""Grad-CAM: where in the image a classifier's prediction comes from.

Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization", ICCV 2017 (arXiv 1610.02391), Eqs. 1 and 2:
the weight of channel ``k`` is the spatial mean of ``d y_c / d A_k``, the
map is ``ReLU(sum_k w_k A_k)``, upsampled to the input.
"""
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import colormaps

from mbv3.utils.checks import check_int
from .figure import new_figure, save_figure
from .outputs import selected_outputs


def grad_cam(model, inputs: torch.Tensor, layer: int = -1,
             target: Optional[int] = None) -> Tuple[np.ndarray, int, float]:
    """Grad-CAM of a classifier's class score at one backbone layer.

    Args:
        model (ImageClassifier): With a ``MobileNetV3`` backbone; the mode
            (eval) is left unchanged, parameters get no gradient.
        inputs (Tensor): ``(1, 3, H, W)``, normalised.
        layer (int | str): Backbone output whose activations are weighted,
            as an ``out_indices`` entry (negative from the end, or
            ``'<i>.expand'``). Defaults to -1, the last 1x1 conv.
        target (int, optional): Class to explain. Defaults to the
            predicted class.

    Returns:
        tuple: ``cam`` ``(H, W)`` float32 in [0, 1] (all zeros when no
        location raises the score), the explained class, and its softmax
        probability.

    Raises:
        ValueError: If ``inputs`` is not one image, ``layer`` is out of
            range or ``target`` is not a class index.
    """
    if inputs.dim() != 4 or inputs.shape[0] != 1:
        raise ValueError(f'inputs must be one image (1, 3, H, W), got shape '
                         f'{tuple(inputs.shape)}')
    try:
        with torch.enable_grad():
            act, logits = _tap_and_logits(model, inputs, layer)
            num_classes = logits.shape[1]
            if target is None:
                target = int(logits[0].argmax())
            else:
                check_int('target', target, 0, num_classes - 1,
                          allowed=f'a class index in [0, '
                          f'{num_classes - 1}]')
            logits[0, target].backward()
    finally:
        model.zero_grad(set_to_none=True)
    act, grad = act.detach(), act.grad
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * act).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=inputs.shape[2:], mode='bilinear',
                        align_corners=False)[0, 0]
    peak = float(cam.max())
    cam = cam / peak if peak > 0 else cam
    score = float(logits.detach().softmax(1)[0, target])
    return cam.numpy().astype(np.float32), target, score


def _tap_and_logits(model, inputs, layer):
    """The activation at ``layer`` (gradient retained) and the logits, from
    one forward that selects the tap through the backbone's own
    ``out_indices`` next to the outputs the neck and head expect."""
    backbone = model.backbone
    own = backbone.feature_info
    tap, = backbone.output_specs(layer)
    wanted = own if tap in own else own + (tap, )
    with selected_outputs(backbone, [spec.index for spec in wanted]):
        outs = backbone(inputs.detach().requires_grad_(True))
    act = outs[wanted.index(tap)]
    act.retain_grad()
    feats = outs[:len(own)]
    if model.with_neck:
        feats = model.neck(feats)
    return act, model.head(feats)


def overlay(image: np.ndarray, cam: np.ndarray,
            alpha: float = 0.5) -> np.ndarray:
    """Blend a ``(H, W)`` map in [0, 1], coloured with 'jet', over an
    ``(H, W, 3)`` uint8 RGB image. Returns ``(H, W, 3)`` uint8."""
    heat = colormaps['jet'](cam)[..., :3]
    blend = (1 - alpha) * image.astype(np.float32) / 255 + alpha * heat
    return (np.clip(blend, 0, 1) * 255).round().astype(np.uint8)


def plot_cam(image: np.ndarray, cam: np.ndarray, out_png: str,
             size=(800, 400), title: str = '') -> str:
    """Save the image and its Grad-CAM overlay side by side.

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8 RGB.
        cam (np.ndarray): ``(H, W)`` in [0, 1], from :func:`grad_cam`.
        out_png (str): Output path (``.png``).
        size (tuple[int, int]): ``(width, height)`` in pixels.
        title (str): Shown above the overlay, e.g. the class and score.

    Returns:
        str: ``out_png``.
    """
    fig = new_figure(size)
    left, right = fig.subplots(1, 2)
    left.imshow(image)
    left.set_title('input', fontsize=9)
    right.imshow(overlay(image, cam))
    right.set_title(title or 'Grad-CAM', fontsize=9)
    for ax in (left, right):
        ax.set_axis_off()
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.9,
                        wspace=0.04)
    return save_figure(fig, out_png)
