"""Export a config + checkpoint to ONNX and check it in onnxruntime
(``tools/deployment/export_onnx.py``, ``mbv3-export-onnx``).

    python -m mbv3.cli.export_onnx CONFIG CHECKPOINT OUT.onnx [--fuse]
        [--opset 17] [--shape H W] [--int8 OUT_INT8.onnx]
"""
import argparse

from mbv3.deploy.export import export_from_config
from mbv3.deploy.onnx import MIN_OPSET
from mbv3.engine.mmengine_fixes import apply_mmengine_fixes
from ._command import add_command_args, report_skipped, command


def parse_args(argv=None) -> argparse.Namespace:
    """Command line of ``mbv3-export-onnx``."""
    parser = argparse.ArgumentParser(
        description='Export an mbv3 model to ONNX and check it against '
        'onnxruntime on real photos.')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help="checkpoint file, or 'none' for "
                        "the config's initial weights")
    parser.add_argument('out', help='output .onnx file')
    parser.add_argument('--opset', type=int, default=MIN_OPSET,
                        help=f'ONNX opset (>= {MIN_OPSET})')
    parser.add_argument('--shape', type=int, nargs=2, default=None,
                        metavar=('H', 'W'),
                        help='example and check input size in pixels '
                        "(default: the config's test pipeline size)")
    parser.add_argument('--fuse', action='store_true',
                        help='fold BN into the convs before exporting')
    parser.add_argument('--int8', metavar='OUT_INT8',
                        help='also write a static int8 model here, '
                        'calibrated on the train split and evaluated on '
                        'the val split of the config')
    parser.add_argument('--calib-batches', type=int, default=4,
                        help='train batches used for int8 calibration')
    add_command_args(parser, batch=True)
    return parser.parse_args(argv)


@command
def main(argv=None) -> dict:
    """Export, check, print and return the report of
    :func:`mbv3.deploy.export.export_from_config`; with ``--int8``,
    unreadable files of the calibration and val splits are skipped and
    listed.

    Raises:
        SkippedFilesError: At the end, when files were skipped and
            ``--allow-skipped`` not given.
    """
    args = parse_args(argv)
    apply_mmengine_fixes()
    report = export_from_config(
        args.config, None if args.checkpoint == 'none' else args.checkpoint,
        args.out, opset=args.opset, shape=args.shape, fuse=args.fuse,
        int8=args.int8, calib_batches=args.calib_batches)
    print(f"exported {report['out']}; max |eager - onnxruntime| on real "
          f"photos: {report['max_abs_diff']:.2e}")
    if 'int8_out' in report:
        print(f"int8 {report['int8_out']}: val top-1 fp32 "
              f"{report['fp32_top1']:.2f}% -> int8 {report['int8_top1']:.2f}%"
              f" (change {report['int8_top1'] - report['fp32_top1']:+.2f} "
              f"points); max |int8 - eager| logit "
              f"{report['int8_max_abs_diff']:.3f}")
    report_skipped(report.get('skipped', ()), args.allow_skipped)
    return report


if __name__ == '__main__':
    from mbv3.cli import run
    run('export_onnx')
