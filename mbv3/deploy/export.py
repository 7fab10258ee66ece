"""Config + checkpoint -> checked ONNX model, optionally int8-quantized
and evaluated (the library behind ``mbv3-export-onnx``)."""
import copy
from typing import Optional

import torch
from mmengine.config import Config

from mbv3.datasets.bad_files import SKIPPED_KEY
from mbv3.models.input_spec import input_spec
from mbv3.utils.deprecation import moved
from .fuse import fuse_conv_bn
from .model import init_model
from .onnx import (MIN_OPSET, export_onnx, max_abs_diff, onnx_accuracy,
                   onnx_session, quantize_int8, sample_photos)

ONNX_TOLERANCE = 1e-4


def _split_batches(cfg: Config, model, split: str, limit=None,
                   skipped=None):
    """Normalised ``(inputs, labels)`` batches of a config's dataloader.

    Unreadable image files are skipped (:func:`~mbv3.datasets.
    skip_bad_files`) and appended to ``skipped`` (``dict(image, error)``).
    """
    from mmengine.runner import Runner

    from mbv3.datasets import skip_bad_files
    from mbv3.datasets.preparation import prepare_data
    prepare_data(cfg)
    loader_cfg = skip_bad_files(copy.deepcopy(dict(
        cfg.get(f'{split}_dataloader'))))
    loader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=False)
    loader = Runner.build_dataloader(loader_cfg)
    batches = []
    with torch.no_grad():
        for data in loader:
            if limit is not None and len(batches) >= limit:
                break
            if skipped is not None:
                skipped.extend(data.pop(SKIPPED_KEY, []))
            if not data['inputs']:
                continue
            data = model.data_preprocessor(data, False)
            labels = torch.stack([s.gt_label for s in data['data_samples']])
            batches.append((data['inputs'], labels.reshape(-1).numpy()))
    return batches


def export_from_config(config, checkpoint: Optional[str], out: str, *,
                       opset: int = MIN_OPSET, shape=None,
                       fuse: bool = False, int8: Optional[str] = None,
                       calib_batches: int = 4) -> dict:
    """Build, (fuse,) export, check and optionally quantize.

    Args:
        config (str | Config): The model's config.
        checkpoint (str, optional): Its weights; None keeps the config's
            initial weights.
        out (str): The ``.onnx`` file to write.
        opset (int): ONNX opset, >= :data:`~mbv3.deploy.onnx.MIN_OPSET`.
        shape (tuple[int, int], optional): ``(H, W)`` of the exported
            input, pixels; None is the model's input size
            (:func:`mbv3.models.input_spec`).
        fuse (bool): Fold BatchNorm into the convs first.
        int8 (str, optional): Also write an int8-quantized model here,
            calibrated on ``calib_batches`` batches of the config's train
            split and evaluated on its val split.
        calib_batches (int): Calibration batches.

    Returns:
        dict: ``out``, ``max_abs_diff`` (eager vs onnxruntime on four real
        photos) and, with ``int8``, ``int8_out``, ``fp32_top1`` and
        ``int8_top1`` in percent on the val split and
        ``int8_max_abs_diff``.

    Raises:
        RuntimeError: If onnxruntime differs from eager by more than 1e-4.
    """
    model = init_model(config, checkpoint)
    if fuse:
        fuse_conv_bn(model)
    spec = input_spec(model, shape)
    export_onnx(model, out, spec.batch_shape(1), opset)
    photos = sample_photos(spec)
    diff = max_abs_diff(model, onnx_session(out), photos)
    report = dict(out=out, max_abs_diff=diff)
    if diff > ONNX_TOLERANCE:
        raise RuntimeError(f'onnxruntime output differs from eager by {diff} '
                           f'> {ONNX_TOLERANCE} on real photos')
    if int8:
        report.update(_quantize_and_evaluate(model, out, int8,
                                             calib_batches))
    return report


def _quantize_and_evaluate(model, out, int8, calib_batches) -> dict:
    skipped = []
    calib = _split_batches(model.cfg, model, 'train', calib_batches,
                           skipped)
    quantize_int8(out, int8, [inputs for inputs, _ in calib])
    val = _split_batches(model.cfg, model, 'val', skipped=skipped)
    fp32, int8_session = onnx_session(out), onnx_session(int8)
    return dict(int8_out=int8, skipped=skipped,
                fp32_top1=onnx_accuracy(fp32, val),
                int8_top1=onnx_accuracy(int8_session, val),
                int8_max_abs_diff=max_abs_diff(model, int8_session,
                                               val[0][0]))


main = moved('mbv3.deploy.export.main', 'mbv3.cli.export_onnx.main')
parse_export_args = moved('mbv3.deploy.export.parse_export_args',
                          'mbv3.cli.export_onnx.parse_args')
