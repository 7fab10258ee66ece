"""Top-1 of every int8 path against its fp32 model on a config's val
split, with the deterministic calibration of
:func:`~mbv3.deploy.calibration.calibration_batches`."""
import copy
import os
from typing import Dict, Sequence

from mbv3.datasets.preparation import prepare_data
from .calibration import CALIB_IMAGES, calibration_batches, split_batches
from .checks import eager_runner, top1_accuracy
from mbv3.models.quantization import convert, quantize_ptq
from .runtimes import RUNTIMES, export_model, load_runner, missing_packages

#: PyTorch's own int8 paths (FX graph mode, x86), measured beside the
#: runtimes: post-training static quantization, and a quantization-aware
#: fine-tune (:class:`mbv3.engine.hooks.QATHook`) converted to int8.
FX_PTQ, FX_QAT = 'torch-fx', 'torch-fx-qat'
PATHS = (*RUNTIMES, FX_PTQ, FX_QAT)


def _fx_rows(model, calib, val, fp32_top1: float,
             qat_model=None) -> Dict[str, dict]:
    """Top-1 of the FX int8 models (run in PyTorch, x86 engine) against
    the float model's ``fp32_top1``."""
    int8 = {FX_PTQ: quantize_ptq(copy.deepcopy(model), calib)}
    if qat_model is not None:
        int8[FX_QAT] = convert(qat_model)
    rows = {}
    for name, quantized in int8.items():
        top1 = top1_accuracy(eager_runner(quantized), val)
        rows[name] = dict(fp32_top1=fp32_top1, int8_top1=top1,
                          change=top1 - fp32_top1)
    return rows


def int8_accuracy(model, workdir: str,
                  runtimes: Sequence[str] = tuple(RUNTIMES),
                  calib_images: int = CALIB_IMAGES,
                  qat_model=None) -> Dict[str, dict]:
    """Export ``model`` fp32 and int8 to each runtime and measure top-1;
    also PyTorch's FX post-training int8 of ``model`` (``'torch-fx'``) and,
    given, the int8 conversion of its quantization-aware fine-tune
    (``'torch-fx-qat'``), both against ``model``'s eager top-1.

    Args:
        model (nn.Module): A classifier from
            :func:`~mbv3.apis.init_model` (its ``cfg`` names the data;
            the data set is prepared when missing).
        workdir (str): Where the exported files go.
        runtimes (Sequence[str]): Runtimes to measure.
        calib_images (int): Calibration subset size.
        qat_model (nn.Module, optional): The fake-quantized model of a QAT
            fine-tune of ``model`` (:func:`~mbv3.apis.model.init_model`
            of its checkpoint); converted to int8 here, in place.

    Returns:
        dict: ``'eager'`` -> ``{'top1'}``, and per path either
        ``{'fp32_top1', 'int8_top1', 'change'}`` (percent, points) or
        ``{'skipped': reason}``; plus ``'val_images'``.
    """
    prepare_data(model.cfg)
    model.eval()
    val = split_batches(model.cfg, model, 'val')
    calib = [x for x, _ in calibration_batches(model.cfg, model,
                                               calib_images)]
    shape = (1, *val[0][0].shape[1:])
    rows = dict(val_images=sum(len(y) for _, y in val),
                eager=dict(top1=top1_accuracy(eager_runner(model), val)))
    for runtime in runtimes:
        reason = missing_packages(runtime)
        if reason:
            rows[runtime] = dict(skipped=reason)
            continue
        ext = RUNTIMES[runtime][1]
        top1 = {}
        for precision, data in (('fp32', None), ('int8', calib)):
            path = export_model(model, runtime, os.path.join(
                workdir, f'{runtime}_{precision}{ext}'), shape, data)
            top1[precision] = top1_accuracy(load_runner(runtime, path), val)
        rows[runtime] = dict(fp32_top1=top1['fp32'], int8_top1=top1['int8'],
                             change=top1['int8'] - top1['fp32'])
    rows.update(_fx_rows(model, calib, val, rows['eager']['top1'],
                         qat_model))
    return rows
