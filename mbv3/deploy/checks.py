"""Checks of an exported model against eager: output difference on real
photos and top-1 accuracy on labelled batches."""
import functools
from typing import Callable, Iterable, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from mbv3.models.input_spec import InputSpec


@torch.no_grad()
def _eager_output(model: nn.Module, x) -> np.ndarray:
    """``model(x)`` as an array; for a model returning a tuple (a backbone),
    its first output."""
    out = model(torch.as_tensor(x))
    return (out[0] if isinstance(out, (tuple, list)) else out).cpu().numpy()


#: fp32 bound of an exported model against eager, relative to the largest
#: |output| where that exceeds 1 (absolute below): float32 rounding grows
#: with the outputs' magnitude (a 1-epoch digits model reaches logits of
#: 1362, where onnxruntime differs by 0.0295 and eager itself by 0.13 once
#: BN is folded), as in the converters' tests (tests/test_convert).
FP32_RTOL = 1e-4


@torch.no_grad()
def compare_outputs(model: nn.Module, runner: Callable,
                    batches: Sequence[torch.Tensor],
                    rtol: float = FP32_RTOL) -> dict:
    """Compare ``runner`` with eager ``model`` on input batches, on a scale
    that follows the outputs.

    Args:
        model (nn.Module): The eager model (put in eval mode); for a
            model returning a tuple (a backbone), its first output.
        runner (Callable): ``fn(x) -> ndarray``, e.g. from
            :func:`~mbv3.deploy.runtimes.load_runner`.
        batches (Sequence[Tensor]): Normalised inputs ``(N, C, H, W)``.
        rtol (float): Bound on ``max |eager - runner|`` relative to
            ``max(1, largest |eager output|)``.

    Returns:
        dict: ``max_abs_diff``; ``largest`` (largest |eager output|);
        ``rtol``; ``tolerance`` (``rtol * max(1, largest)``); ``images``;
        for logits ``(N, K)``, ``top1_agree`` (images whose argmax is the
        same); ``ok``: within the tolerance and, for logits, the same
        top-1 on every image.
    """
    model.eval()
    pairs = [(_eager_output(model, x), np.asarray(runner(x))) for x in batches]
    largest = max(float(np.abs(e).max()) for e, _ in pairs)
    tolerance = rtol * max(1.0, largest)
    report = dict(
        max_abs_diff=max(float(np.abs(e - g).max()) for e, g in pairs),
        largest=largest, rtol=rtol, tolerance=tolerance,
        images=sum(len(e) for e, _ in pairs))
    report['ok'] = report['max_abs_diff'] <= tolerance
    if all(e.ndim == 2 and e.shape[1] > 1 for e, _ in pairs):
        agree = sum(int((e.argmax(1) == g.argmax(1)).sum()) for e, g in pairs)
        report['top1_agree'] = agree
        report['ok'] = report['ok'] and agree == report['images']
    return report


def describe_comparison(report: dict, name: str) -> str:
    """One line stating :func:`compare_outputs`'s measure and result."""
    line = (f'max |eager - {name}| {report["max_abs_diff"]:.3g} against '
            f'{report["tolerance"]:.3g} allowed ({report["rtol"]:g} x max(1, '
            f'largest |eager output| {report["largest"]:.4g}))')
    if 'top1_agree' in report:
        line += (f'; top-1 agrees on {report["top1_agree"]}/'
                 f'{report["images"]} check photos')
    return line


def check_sizes(spec: InputSpec) -> Tuple[InputSpec, InputSpec]:
    """The inputs an exported model is checked at: the export size ``(H,
    W)`` and ``(H + 17, W + 9)``, which is odd where ``H``/``W`` are even,
    not square and off every stride, so that a padding or size baked into
    the graph at the export size shows.

    Args:
        spec (InputSpec): The export input (:func:`mbv3.models.input_spec`).

    Returns:
        tuple[InputSpec, InputSpec]: ``spec`` and ``spec`` at the second
        size.
    """
    return spec, spec._replace(height=spec.height + 17,
                               width=spec.width + 9)


def top1_accuracy(runner: Callable, batches: Iterable) -> float:
    """Top-1 accuracy in percent of ``runner`` over ``(inputs, labels)``
    pairs, inputs ``(N, C, H, W)`` normalised, labels ``(N,)`` ints."""
    correct = total = 0
    for inputs, labels in batches:
        pred = np.asarray(runner(inputs)).argmax(axis=1)
        correct += int((pred == np.asarray(labels)).sum())
        total += len(pred)
    return 100.0 * correct / total


def eager_runner(model: nn.Module) -> Callable:
    """The eager model as ``fn(x) -> ndarray`` (no grad, eval mode)."""
    return functools.partial(_eager_output, model.eval())


def sample_photos(spec: InputSpec) -> torch.Tensor:
    """Four real photos bundled with scikit-image (astronaut, chelsea,
    coffee, rocket) as a model takes them: resized, converted to its
    channel count and normalised.

    Args:
        spec (InputSpec): The model's input, from
            :func:`mbv3.models.input_spec`; 1 channel gives the photos'
            luminance (ITU-R 601, scikit-image's ``rgb2gray``) in 0..255,
            3 channels RGB.

    Returns:
        Tensor: ``(4, C, H, W)`` float32.

    Raises:
        ValueError: For a channel count other than 1 or 3.
    """
    from skimage import data
    from skimage.color import rgb2gray
    from skimage.transform import resize
    if spec.channels not in (1, 3):
        raise ValueError(f'check photos exist for 1 (grayscale) or 3 (RGB) '
                         f'channels, the model takes {spec.channels}')
    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    if spec.channels == 1:
        photos = [rgb2gray(im)[..., None] * 255.0 for im in photos]
    batch = np.stack([
        resize(im, (spec.height, spec.width), anti_aliasing=True,
               preserve_range=True) for im in photos
    ]).astype(np.float32)
    batch = (batch - np.float32(spec.mean)) / np.float32(spec.std)
    return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()
