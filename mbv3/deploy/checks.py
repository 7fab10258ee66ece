"""Checks of an exported model against eager: output difference on real
photos and top-1 accuracy on labelled batches."""
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn


@torch.no_grad()
def max_abs_diff(model: nn.Module, runner: Callable, x: torch.Tensor) -> float:
    """Largest ``|model(x) - runner(x)|``, for ``x`` of shape ``(N, C, H,
    W)``; for a model returning a tuple (a backbone), its first output.

    Args:
        model (nn.Module): The eager model (put in eval mode).
        runner (Callable): ``fn(x) -> ndarray``, e.g. from
            :func:`~mbv3.deploy.runtimes.load_runner`.
        x (Tensor): Normalised input.
    """
    expected = model.eval()(x)
    if isinstance(expected, (tuple, list)):
        expected = expected[0]
    got = np.asarray(runner(x))
    return float(np.abs(expected.cpu().numpy() - got).max())


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
    model.eval()

    def run(x):
        with torch.no_grad():
            out = model(torch.as_tensor(x))
        return (out[0] if isinstance(out, (tuple, list)) else out).numpy()
    return run


def sample_photos(size: int = 224, mean=(123.675, 116.28, 103.53),
                  std=(58.395, 57.12, 57.375)) -> torch.Tensor:
    """Four real photos bundled with scikit-image (astronaut, chelsea,
    coffee, rocket), resized and normalised.

    Args:
        size (int): Output height and width in pixels.
        mean (Sequence[float]): RGB mean in 0..255 units.
        std (Sequence[float]): RGB std in 0..255 units.

    Returns:
        Tensor: ``(4, 3, size, size)`` float32.
    """
    from skimage import data
    from skimage.transform import resize
    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    batch = np.stack([
        resize(im, (size, size), anti_aliasing=True, preserve_range=True)
        for im in photos
    ]).astype(np.float32)
    batch = (batch - np.float32(mean)) / np.float32(std)
    return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()
