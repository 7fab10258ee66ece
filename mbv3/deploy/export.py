"""Config + checkpoint -> exported model checked against eager on real
photos, optionally int8-quantized and evaluated (the library behind
``mbv3-export-onnx``, ``mbv3-export-openvino`` and
``mbv3-export-executorch``)."""
from mbv3.apis.inference import init_model
from mbv3.models.input_spec import input_spec
from mbv3.utils.deprecation import moved
from .calibration import calibration_batches, split_batches
from .checks import max_abs_diff, sample_photos, top1_accuracy
from .fuse import fuse_conv_bn
from .runtimes import export_model, load_runner

FP32_TOLERANCE = 1e-4


def export_from_config(args, runtime: str = 'onnxruntime') -> dict:
    """Build, (fuse,) export, check and optionally quantize.

    Args:
        args: ``config``, ``checkpoint`` (a path or 'none'), ``out``,
            ``shape`` ``(H, W)`` or None (the model's input size,
            :func:`mbv3.models.input_spec`), ``fuse``, ``int8`` (a path or
            None),
            ``calib_images`` and, for onnxruntime, ``opset``, as the
            export commands parse them (:mod:`mbv3.cli.export_onnx`).
        runtime (str): 'onnxruntime', 'openvino' or 'executorch'
            (:data:`mbv3.deploy.runtimes.RUNTIMES`).

    Returns:
        dict: ``out``, ``max_abs_diff`` (eager vs the runtime on four real
        photos) and, with ``int8``, ``int8_out``, ``skipped`` (unreadable
        files, ``dict(image, error)``), ``fp32_top1`` and
        ``int8_top1`` in percent on the val split (both in the runtime)
        and ``int8_max_abs_diff``. int8 calibrates on a fixed seeded
        subset of the train split through the test pipeline
        (:func:`~mbv3.deploy.calibration.calibration_batches`), so the same
        checkpoint gives the same int8 model.

    Raises:
        RuntimeError: If the runtime differs from eager by more than 1e-4.
    """
    checkpoint = None if args.checkpoint == 'none' else args.checkpoint
    model = init_model(args.config, checkpoint)
    if args.fuse:
        fuse_conv_bn(model)
    options = dict(opset=args.opset) if runtime == 'onnxruntime' else {}
    spec = input_spec(model, args.shape)
    export_model(model, runtime, args.out, spec.batch_shape(1), **options)
    photos = sample_photos(spec)
    runner = load_runner(runtime, args.out)
    diff = max_abs_diff(model, runner, photos)
    report = dict(out=args.out, max_abs_diff=diff)
    if diff > FP32_TOLERANCE:
        raise RuntimeError(f'{runtime} output differs from eager by {diff} '
                           f'> {FP32_TOLERANCE} on real photos')
    if args.int8:
        report.update(_quantize_and_evaluate(model, args, runtime, runner,
                                             spec.batch_shape(1), options))
    return report


def _quantize_and_evaluate(model, args, runtime, runner, shape,
                           options) -> dict:
    from mbv3.datasets.preparation import prepare_data
    prepare_data(model.cfg)
    skipped = []
    calib = calibration_batches(model.cfg, model, args.calib_images,
                                skipped=skipped)
    export_model(model, runtime, args.int8, shape,
                 [inputs for inputs, _ in calib], **options)
    val = split_batches(model.cfg, model, 'val', skipped=skipped)
    int8 = load_runner(runtime, args.int8)
    return dict(int8_out=args.int8, skipped=skipped,
                fp32_top1=top1_accuracy(runner, val),
                int8_top1=top1_accuracy(int8, val),
                int8_max_abs_diff=max_abs_diff(model, int8, val[0][0]))


def format_report(report: dict, runtime: str) -> str:
    """The export commands' printed summary of :func:`export_from_config`."""
    lines = [f"exported {report['out']}; max |eager - {runtime}| on real "
             f"photos: {report['max_abs_diff']:.2e}"]
    if 'int8_out' in report:
        lines.append(
            f"int8 {report['int8_out']}: val top-1 fp32 "
            f"{report['fp32_top1']:.2f}% -> int8 {report['int8_top1']:.2f}% "
            f"(change {report['int8_top1'] - report['fp32_top1']:+.2f} "
            f"points); max |int8 - eager| logit "
            f"{report['int8_max_abs_diff']:.3f}")
    return '\n'.join(lines)


main = moved('mbv3.deploy.export.main', 'mbv3.cli.export_onnx.main')
parse_export_args = moved('mbv3.deploy.export.parse_export_args',
                          'mbv3.cli.export_onnx.parse_args')
