"""A built model -> exported model checked against eager on real
photos, optionally int8-quantized and evaluated (the library behind
``mbv3-export-onnx``, ``mbv3-export-openvino`` and
``mbv3-export-executorch``)."""
import os.path as osp
from typing import Optional

from mbv3.models.input_spec import input_spec
from mbv3.models.quantization import quantization_state
from .calibration import CALIB_IMAGES, calibration_batches, split_batches
from .checks import (check_sizes, compare_outputs, describe_comparison,
                     sample_photos, top1_accuracy)
from .fuse import fuse_conv_bn
from .onnx import MIN_OPSET
from .runtimes import RUNTIMES, export_model, fixed_shape, load_runner


def check_outputs(runtime: str, *paths: Optional[str]) -> None:
    """Check, before any work, that each output path (None: not written)
    has ``runtime``'s extension and lies in an existing folder.

    Raises:
        ValueError: Naming the path and the extension or the folder.
    """
    ext = RUNTIMES[runtime][1]
    for path in paths:
        if path is None:
            continue
        if not str(path).endswith(ext):
            raise ValueError(f'{runtime} writes {ext} files, got {path!r}')
        folder = osp.dirname(osp.abspath(path))
        if not osp.isdir(folder):
            raise ValueError(f'the folder of {path!r} does not exist: '
                             f'create {folder!r} first')


def export_checked(model, out: str, *, checkpoint: Optional[str] = None,
                   runtime: str = 'onnxruntime', opset: int = MIN_OPSET,
                   shape=None, fuse: bool = False, int8: Optional[str] = None,
                   calib_images: int = CALIB_IMAGES) -> dict:
    """(Fuse,) export, check and optionally quantize a model.

    Args:
        model (nn.Module): From :func:`mbv3.apis.init_model`, in eval mode
            (its ``cfg`` names the data ``int8`` calibrates on).
        checkpoint (str, optional): The file ``model`` was loaded from,
            named in errors.
        out (str): The file to write (``.onnx``, ``.xml`` or ``.pte``).
        runtime (str): 'onnxruntime', 'openvino' or 'executorch'
            (:data:`mbv3.deploy.runtimes.RUNTIMES`).
        opset (int): ONNX opset, >= :data:`~mbv3.deploy.onnx.MIN_OPSET`
            (onnxruntime only).
        shape (tuple[int, int], optional): ``(H, W)`` of the exported
            input, pixels; None is the model's input size
            (:func:`mbv3.models.input_spec`).
        fuse (bool): Fold BatchNorm into the convs first.
        int8 (str, optional): Also write an int8-quantized model here,
            calibrated on ``calib_images`` images of the config's train
            split and evaluated on its val split.
        calib_images (int): Calibration images, a fixed seeded subset of
            the train split through the test pipeline
            (:func:`~mbv3.deploy.calibration.calibration_batches`), so the
            same checkpoint gives the same int8 model.

    Returns:
        dict: ``out``, ``comparison`` (eager vs the runtime on four real
        photos at each of ``check_sizes``: the export size and, where the
        runtime takes any size, a second one, :func:`~mbv3.deploy.checks.
        check_sizes`; see :func:`~mbv3.deploy.checks.compare_outputs`),
        its ``max_abs_diff``, and, with ``int8``, ``int8_out``, ``skipped``
        (unreadable files, ``dict(image, error)``), ``fp32_top1`` and
        ``int8_top1`` in percent on the val split (both in the runtime) and
        ``int8_max_abs_diff``.

    Raises:
        RuntimeError: If the runtime differs from eager by more than
            :data:`~mbv3.deploy.checks.FP32_RTOL` of the largest |output|
            (at least 1), or its top-1 differs on a check photo where
            eager's is not a tie (:func:`~mbv3.deploy.checks.
            compare_outputs`).
        ValueError: For an output file without the runtime's extension
            or in a folder that does not exist (checked before exporting),
            or for a quantization-aware fine-tune checkpoint (its
            int8 model runs in PyTorch: :func:`mbv3.models.quantization.
            convert`).
    """
    check_outputs(runtime, out, int8)
    if quantization_state(model) is not None:
        raise ValueError(f'checkpoint {checkpoint!r} is a quantization-aware '
                         f'fine-tune (fake-quantized): {runtime} export '
                         f'takes float checkpoints; run its int8 model in '
                         f'PyTorch, mbv3.models.quantization.convert('
                         f'init_model(config, checkpoint))')
    if fuse:
        fuse_conv_bn(model)
    options = dict(opset=opset) if runtime == 'onnxruntime' else {}
    spec = input_spec(model, shape)
    export_model(model, runtime, out, spec.batch_shape(1), **options)
    runner = load_runner(runtime, out)
    specs = (spec, ) if fixed_shape(runtime) else check_sizes(spec)
    comparison = compare_outputs(
        model, runner, [sample_photos(check) for check in specs])
    sizes = [(check.height, check.width) for check in specs]
    report = dict(out=out, check_sizes=sizes, comparison=comparison,
                  max_abs_diff=comparison['max_abs_diff'])
    if not comparison['ok']:
        raise RuntimeError(
            f'{runtime} output differs from eager on real photos at (H, W) '
            f'{sizes}: {describe_comparison(comparison, runtime)}')
    if int8:
        report.update(_quantize_and_evaluate(
            model, runtime, runner, int8, calib_images,
            spec.batch_shape(1), options))
    return report


def _quantize_and_evaluate(model, runtime, runner, int8, calib_images, shape,
                           options) -> dict:
    from mbv3.datasets.preparation import prepare_data
    prepare_data(model.cfg)
    skipped = []
    calib = calibration_batches(model.cfg, model, calib_images,
                                skipped=skipped)
    export_model(model, runtime, int8, shape,
                 [inputs for inputs, _ in calib], **options)
    val = split_batches(model.cfg, model, 'val', skipped=skipped)
    int8_runner = load_runner(runtime, int8)
    int8_diff = compare_outputs(model, int8_runner, [val[0][0]])
    return dict(int8_out=int8, skipped=skipped,
                fp32_top1=top1_accuracy(runner, val),
                int8_top1=top1_accuracy(int8_runner, val),
                int8_max_abs_diff=int8_diff['max_abs_diff'])


def format_report(report: dict, runtime: str) -> str:
    """The export commands' printed summary of :func:`export_checked`."""
    lines = [f"exported {report['out']}; max |eager - {runtime}| on real "
             f"photos: {report['max_abs_diff']:.2e} at (H, W) "
             f"{report['check_sizes']} "
             f"({describe_comparison(report['comparison'], runtime)})"]
    if 'int8_out' in report:
        lines.append(
            f"int8 {report['int8_out']}: val top-1 fp32 "
            f"{report['fp32_top1']:.2f}% -> int8 {report['int8_top1']:.2f}% "
            f"(change {report['int8_top1'] - report['fp32_top1']:+.2f} "
            f"points); max |int8 - eager| logit "
            f"{report['int8_max_abs_diff']:.3f}")
    return '\n'.join(lines)
