"""The ``tools/deployment/export_{onnx,openvino,executorch}.py`` pipeline:
config + checkpoint -> exported model checked against eager on real photos,
optionally int8-quantized and evaluated on the val split."""
import argparse

from mbv3.apis.inference import init_model
from .calibration import CALIB_IMAGES, calibration_batches, split_batches
from .checks import max_abs_diff, sample_photos, top1_accuracy
from .fuse import fuse_conv_bn
from .onnx import MIN_OPSET
from .runtimes import RUNTIMES, export_model, load_runner

FP32_TOLERANCE = 1e-4
_NAMES = {'onnxruntime': 'ONNX', 'openvino': 'OpenVINO IR',
          'executorch': 'ExecuTorch (XNNPACK)'}


def parse_export_args(argv=None, runtime: str = 'onnxruntime'
                      ) -> argparse.Namespace:
    ext = RUNTIMES[runtime][1]
    parser = argparse.ArgumentParser(
        description=f'Export an mbv3 model to {_NAMES[runtime]} and check '
        f'it in {runtime} against eager on real photos.')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help="checkpoint file, or 'none' for "
                        "the config's initial weights")
    parser.add_argument('out', help=f'output {ext} file')
    if runtime == 'onnxruntime':
        parser.add_argument('--opset', type=int, default=MIN_OPSET,
                            help=f'ONNX opset (>= {MIN_OPSET})')
    parser.add_argument('--shape', type=int, nargs=2, default=(224, 224),
                        metavar=('H', 'W'),
                        help='example and check input size in pixels'
                        + (' (the fixed input size of the program)'
                           if RUNTIMES[runtime][2] else ''))
    parser.add_argument('--fuse', action='store_true',
                        help='fold BN into the convs before exporting')
    parser.add_argument('--int8', metavar=f'OUT_INT8{ext}',
                        help='also write a static int8 model here, '
                        'calibrated on a fixed seeded subset of the train '
                        'split (test pipeline) and evaluated on the val '
                        'split of the config')
    parser.add_argument('--calib-images', type=int, default=CALIB_IMAGES,
                        help='train images used for int8 calibration')
    args = parser.parse_args(argv)
    args.runtime = runtime
    return args


def _norm_stats(model):
    prep = model.data_preprocessor
    if not getattr(prep, '_enable_normalize', False):
        return (0., 0., 0.), (1., 1., 1.)
    return prep.mean.flatten().tolist(), prep.std.flatten().tolist()


def export_from_config(args: argparse.Namespace) -> dict:
    """Build, (fuse,) export, check and optionally quantize.

    Returns:
        dict: ``out``, ``max_abs_diff`` (eager vs the runtime on four real
        photos) and, with ``--int8``, ``int8_out``, ``fp32_top1`` and
        ``int8_top1`` in percent on the val split (both in the runtime)
        and ``int8_max_abs_diff``.

    Raises:
        RuntimeError: If the runtime differs from eager by more than 1e-4.
    """
    checkpoint = None if args.checkpoint == 'none' else args.checkpoint
    model = init_model(args.config, checkpoint)
    if args.fuse:
        fuse_conv_bn(model)
    options = dict(opset=args.opset) if args.runtime == 'onnxruntime' else {}
    shape = (1, 3, *args.shape)
    export_model(model, args.runtime, args.out, shape, **options)
    photos = sample_photos(args.shape[0], *_norm_stats(model))
    runner = load_runner(args.runtime, args.out)
    diff = max_abs_diff(model, runner, photos)
    report = dict(out=args.out, max_abs_diff=diff)
    if diff > FP32_TOLERANCE:
        raise RuntimeError(f'{args.runtime} output differs from eager by '
                           f'{diff} > {FP32_TOLERANCE} on real photos')
    if args.int8:
        report.update(_quantize_and_evaluate(model, args, runner, options))
    return report


def _quantize_and_evaluate(model, args, runner, options) -> dict:
    from mbv3.apis.train import prepare_data
    prepare_data(model.cfg)
    calib = calibration_batches(model.cfg, model, args.calib_images)
    export_model(model, args.runtime, args.int8, (1, 3, *args.shape),
                 [inputs for inputs, _ in calib], **options)
    val = split_batches(model.cfg, model, 'val')
    int8 = load_runner(args.runtime, args.int8)
    return dict(int8_out=args.int8,
                fp32_top1=top1_accuracy(runner, val),
                int8_top1=top1_accuracy(int8, val),
                int8_max_abs_diff=max_abs_diff(model, int8, val[0][0]))


def main(argv=None, runtime: str = 'onnxruntime') -> dict:
    report = export_from_config(parse_export_args(argv, runtime))
    print(f"exported {report['out']}; max |eager - {runtime}| on real "
          f"photos: {report['max_abs_diff']:.2e}")
    if 'int8_out' in report:
        print(f"int8 {report['int8_out']}: val top-1 fp32 "
              f"{report['fp32_top1']:.2f}% -> int8 {report['int8_top1']:.2f}%"
              f" (change {report['int8_top1'] - report['fp32_top1']:+.2f} "
              f"points); max |int8 - eager| logit "
              f"{report['int8_max_abs_diff']:.3f}")
    return report
