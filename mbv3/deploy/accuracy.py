"""int8 against fp32 on every path, on enough images to resolve half a
point: a config's val split and deterministic crops of it (never the train
split, from which calibration comes), with the deterministic calibration
of :func:`~mbv3.deploy.calibration.calibration_batches`."""
import copy
import os
from typing import Callable, Dict, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from mbv3.datasets.preparation import prepare_data
from mbv3.models.quantization import convert, quantize_ptq
from .calibration import CALIB_IMAGES, calibration_batches, split_batches
from .checks import eager_runner
from .runtimes import RUNTIMES, export_model, load_runner, missing_packages

#: PyTorch's own int8 paths (PT2E, x86 quantizer), measured beside the
#: runtimes: post-training static quantization, and a quantization-aware
#: fine-tune (:class:`mbv3.engine.hooks.QATHook`) converted to int8.
PT2E_PTQ, PT2E_QAT = 'pt2e', 'pt2e-qat'
PATHS = (*RUNTIMES, PT2E_PTQ, PT2E_QAT)
#: The int8 targets: top-1 agreement with fp32 (percent) and the largest
#: top-1 change (points), QAT held to a tighter one.
MIN_AGREEMENT = 99.0
MAX_CHANGE = {PT2E_QAT: 0.3}
DEFAULT_MAX_CHANGE = 0.5
#: Crops of each val image, ``(top, left, size)`` as fractions of its side,
#: each resized back to the input size; ``(0, 0, 1)`` is the image itself.
VIEWS = ((0, 0, 1), (0, 0, 0.875), (0, 0.125, 0.875), (0.125, 0, 0.875),
         (0.125, 0.125, 0.875), (0.0625, 0.0625, 0.875),
         (0.125, 0.125, 0.75))
CHUNK = 32


def multi_crop(inputs: torch.Tensor,
               views: Sequence[Tuple[float, float, float]] = VIEWS
               ) -> torch.Tensor:
    """Deterministic views of normalised images: each crop of ``views``
    resized back (bilinear, antialiased) to the images' size, view-major.

    Args:
        inputs (Tensor): ``(N, C, H, W)``.
        views: ``(top, left, size)`` fractions of ``H`` and ``W``.

    Returns:
        Tensor: ``(len(views) * N, C, H, W)``.
    """
    height, width = inputs.shape[-2:]
    out = []
    for top, left, size in views:
        y, x = round(top * height), round(left * width)
        h, w = round(size * height), round(size * width)
        crop = inputs[..., y:y + h, x:x + w]
        out.append(crop if (h, w) == (height, width) else F.interpolate(
            crop, size=(height, width), mode='bilinear', align_corners=False,
            antialias=True))
    return torch.cat(out)


def evaluation_set(model, views=VIEWS) -> Tuple[torch.Tensor, np.ndarray]:
    """The val split of ``model.cfg`` through its test pipeline, and
    :func:`multi_crop` views of it: ``(inputs (M, C, H, W), labels (M,))``,
    ``M = len(views) * val images``."""
    val = split_batches(model.cfg, model, 'val')
    inputs = torch.cat([x for x, _ in val])
    labels = np.concatenate([y for _, y in val])
    return multi_crop(inputs, views), np.tile(labels, len(views))


def _logits(runner: Callable, inputs: torch.Tensor) -> np.ndarray:
    return np.concatenate([np.asarray(runner(x))
                           for x in inputs.split(CHUNK)])


def compare(fp32: np.ndarray, int8: np.ndarray, labels: np.ndarray,
            max_change: float = DEFAULT_MAX_CHANGE) -> dict:
    """One path's row: ``images``, ``fp32_top1``, ``int8_top1`` (percent),
    ``change`` (points), ``agreement`` (percent of images whose int8 top-1
    class is fp32's), ``cosine`` (mean cosine similarity of the logits) and
    ``verdict`` against :data:`MIN_AGREEMENT` and ``max_change``.

    Args:
        fp32, int8 (ndarray): Logits ``(M, num_classes)``.
        labels (ndarray): ``(M,)``.
        max_change (float): Largest ``|change|`` met, points.
    """
    fp32_pred, int8_pred = fp32.argmax(1), int8.argmax(1)
    fp32_top1 = 100.0 * float((fp32_pred == labels).mean())
    int8_top1 = 100.0 * float((int8_pred == labels).mean())
    cosine = F.cosine_similarity(torch.from_numpy(fp32).double(),
                                 torch.from_numpy(int8).double(), dim=1)
    row = dict(images=int(len(labels)), fp32_top1=fp32_top1,
               int8_top1=int8_top1, change=int8_top1 - fp32_top1,
               agreement=100.0 * float((fp32_pred == int8_pred).mean()),
               cosine=float(cosine.mean()))
    row['verdict'] = verdict(row, max_change)
    return row


def verdict(row: dict, max_change: float) -> str:
    """``'met'``, or ``'missed: ...'`` naming each target missed and by
    how much."""
    missed = []
    if row['agreement'] < MIN_AGREEMENT:
        missed.append(f"agreement {row['agreement']:.2f}% < "
                      f'{MIN_AGREEMENT:g}% by '
                      f"{MIN_AGREEMENT - row['agreement']:.2f}")
    if abs(row['change']) > max_change:
        missed.append(f"change {row['change']:+.2f} beyond ±{max_change:g} "
                      f"by {abs(row['change']) - max_change:.2f} points")
    return 'met' if not missed else 'missed: ' + '; '.join(missed)


def int8_accuracy(model, workdir: str,
                  runtimes: Sequence[str] = tuple(RUNTIMES),
                  calib_images: int = CALIB_IMAGES,
                  qat_model=None) -> Dict[str, dict]:
    """Export ``model`` fp32 and int8 to each runtime and compare them on
    :func:`evaluation_set`; also PyTorch's PT2E post-training int8 of
    ``model`` (``'pt2e'``) and, given, the int8 conversion of its
    quantization-aware fine-tune (``'pt2e-qat'``), both against ``model``
    in eager fp32. The PT2E models run as :func:`~mbv3.models.
    quantization.convert` leaves them (quantize/dequantize in float, the
    rounding of the int8 kernels :func:`~mbv3.models.quantization.
    compile_int8` lowers them to).

    Args:
        model (nn.Module): A classifier from :func:`~mbv3.apis.init_model`
            (its ``cfg`` names the data; the data set is prepared when
            missing).
        workdir (str): Where the exported files go.
        runtimes (Sequence[str]): Runtimes to measure.
        calib_images (int): Calibration subset size.
        qat_model (nn.Module, optional): The fake-quantized model of a QAT
            fine-tune of ``model`` (:func:`~mbv3.apis.init_model` of its
            checkpoint); converted to int8 here, in place.

    Returns:
        dict: ``'eager'`` -> ``{'top1', 'images'}``, and per path either
        the row of :func:`compare` or ``{'skipped': reason}``.
    """
    prepare_data(model.cfg)
    model.eval()
    inputs, labels = evaluation_set(model)
    calib = [x for x, _ in calibration_batches(model.cfg, model,
                                               calib_images)]
    shape = (1, *inputs.shape[1:])
    eager = _logits(eager_runner(model), inputs)
    rows = dict(eager=dict(images=int(len(labels)), top1=100.0 * float(
        (eager.argmax(1) == labels).mean())))
    for runtime in runtimes:
        reason = missing_packages(runtime)
        if reason:
            rows[runtime] = dict(skipped=reason)
            continue
        ext = RUNTIMES[runtime][1]
        logits = {}
        for precision, data in (('fp32', None), ('int8', calib)):
            path = export_model(model, runtime, os.path.join(
                workdir, f'{runtime}_{precision}{ext}'), shape, data)
            logits[precision] = _logits(load_runner(runtime, path), inputs)
        rows[runtime] = compare(logits['fp32'], logits['int8'], labels)
    int8 = {PT2E_PTQ: quantize_ptq(copy.deepcopy(model), calib)}
    if qat_model is not None:
        int8[PT2E_QAT] = convert(qat_model)
    for name, quantized in int8.items():
        rows[name] = compare(eager, _logits(eager_runner(quantized), inputs),
                             labels, max_change_for(name))
    return rows


def max_change_for(path: str) -> float:
    """The top-1 change target of ``path``, points."""
    return MAX_CHANGE.get(path, DEFAULT_MAX_CHANGE)
