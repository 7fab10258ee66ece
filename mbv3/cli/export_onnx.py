"""Export a config + checkpoint to a runtime and check it against eager
on real photos: ONNX in onnxruntime (``tools/deployment/export_onnx.py``,
``mbv3-export-onnx``); :mod:`mbv3.cli.export_openvino` and
:mod:`mbv3.cli.export_executorch` run :func:`export` for OpenVINO and
ExecuTorch.

    python -m mbv3.cli.export_onnx CONFIG CHECKPOINT OUT.onnx [--fuse]
        [--opset 17] [--shape H W] [--int8 OUT_INT8.onnx]
    python -m mbv3.cli.export_openvino CONFIG CHECKPOINT OUT.xml [--fuse]
        [--shape H W] [--int8 OUT_INT8.xml]
    python -m mbv3.cli.export_executorch CONFIG CHECKPOINT OUT.pte [--fuse]
        [--shape H W] [--int8 OUT_INT8.pte]
"""
import argparse
from typing import Callable

from mbv3.apis.model import init_model
from mbv3.deploy.calibration import CALIB_IMAGES
from mbv3.deploy.export import check_outputs, export_checked, format_report
from mbv3.deploy.onnx import MIN_OPSET
from mbv3.deploy.runtimes import RUNTIMES, fixed_shape
from mbv3.utils.checks import check_int
from ._command import (add_command_args, add_config_arg, command,
                       report_skipped)

_FORMATS = {'onnxruntime': 'ONNX', 'openvino': 'an OpenVINO IR',
            'executorch': 'an ExecuTorch program (XNNPACK)'}


def parse_args(argv=None, runtime: str = 'onnxruntime'
               ) -> argparse.Namespace:
    """Command line of ``mbv3-export-onnx`` (and, with ``runtime``, of
    ``mbv3-export-openvino`` and ``mbv3-export-executorch``)."""
    ext = RUNTIMES[runtime][1]
    parser = argparse.ArgumentParser(
        description=f'Export an mbv3 model to {_FORMATS[runtime]} and check '
        f'it in {runtime} against eager on real photos.')
    add_config_arg(parser)
    parser.add_argument('checkpoint', help="checkpoint file, or 'none' for "
                        "the config's initial weights")
    parser.add_argument('out', help=f'output {ext} file')
    if runtime == 'onnxruntime':
        parser.add_argument('--opset', type=int, default=MIN_OPSET,
                            help=f'ONNX opset (>= {MIN_OPSET})')
    parser.add_argument('--shape', type=int, nargs=2, default=None,
                        metavar=('H', 'W'),
                        help='example and check input size in pixels '
                        "(default: the config's test pipeline size)" +
                        ('; the fixed input size of the program'
                         if fixed_shape(runtime) else ''))
    parser.add_argument('--fuse', action='store_true',
                        help='fold BN into the convs before exporting')
    parser.add_argument('--int8', metavar=f'OUT_INT8{ext}',
                        help='also write a static int8 model here, '
                        'calibrated on a fixed seeded subset of the train '
                        'split (test pipeline) and evaluated on the val '
                        'split of the config')
    parser.add_argument('--calib-images', type=int, default=CALIB_IMAGES,
                        help='train images used for int8 calibration '
                        f'(default {CALIB_IMAGES})')
    add_command_args(parser, batch=True)
    return parser.parse_args(argv)


def export(argv, runtime: str) -> dict:
    """Export, check, print and return the report of
    :func:`mbv3.deploy.export.export_checked`; with ``--int8``,
    unreadable files of the calibration and val splits are skipped and
    listed.

    Raises:
        SkippedFilesError: At the end, when files were skipped and
            ``--allow-skipped`` not given.
    """
    args = parse_args(argv, runtime)
    check_int('--calib-images', args.calib_images, low=1)
    for side in args.shape or ():
        check_int('--shape', side, low=1, allowed='two ints >= 1 (H W)')
    check_outputs(runtime, args.out, args.int8)
    checkpoint = None if args.checkpoint == 'none' else args.checkpoint
    report = export_checked(
        init_model(args.config, checkpoint), args.out,
        checkpoint=checkpoint, runtime=runtime, opset=getattr(args, 'opset', MIN_OPSET),
        shape=args.shape, fuse=args.fuse, int8=args.int8,
        calib_images=args.calib_images)
    print(format_report(report, runtime))
    report_skipped(report.get('skipped', ()), args.allow_skipped)
    return report


def runtime_main(runtime: str) -> Callable:
    """The ``main(argv=None)`` of the export command of ``runtime`` (a key
    of :data:`mbv3.deploy.runtimes.RUNTIMES`): :func:`export` as a
    :func:`mbv3.cli._command.command`."""

    def main(argv=None) -> dict:
        return export(argv, runtime)

    main.__doc__ = f'See :func:`mbv3.cli.export_onnx.export` ({runtime}).'
    return command(main)


main = runtime_main('onnxruntime')


if __name__ == '__main__':
    from mbv3.cli import run
    run('export_onnx')
