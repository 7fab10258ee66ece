"""The ``tools/deployment/export_onnx.py`` pipeline: config + checkpoint ->
checked ONNX model, optionally int8-quantized and evaluated."""
import argparse
import copy

import torch
from mmengine.config import Config

from mbv3.apis.command import add_command_args, report_skipped
from mbv3.apis.inference import init_model
from mbv3.datasets.bad_files import SKIPPED_KEY
from .fuse import fuse_conv_bn
from .onnx import (MIN_OPSET, export_onnx, max_abs_diff, onnx_accuracy,
                   onnx_session, quantize_int8, sample_photos)

ONNX_TOLERANCE = 1e-4


def parse_export_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export an mbv3 model to ONNX and check it against '
        'onnxruntime on real photos.')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help="checkpoint file, or 'none' for "
                        "the config's initial weights")
    parser.add_argument('out', help='output .onnx file')
    parser.add_argument('--opset', type=int, default=MIN_OPSET,
                        help=f'ONNX opset (>= {MIN_OPSET})')
    parser.add_argument('--shape', type=int, nargs=2, default=(224, 224),
                        metavar=('H', 'W'),
                        help='example and check input size in pixels')
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


def _split_batches(cfg: Config, model, split: str, limit=None,
                   skipped=None):
    """Normalised ``(inputs, labels)`` batches of a config's dataloader.

    Unreadable image files are skipped (:func:`~mbv3.datasets.
    skip_bad_files`) and appended to ``skipped`` (``dict(image, error)``).
    """
    from mmengine.runner import Runner

    from mbv3.apis.train import prepare_data
    from mbv3.datasets import skip_bad_files
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


def _norm_stats(model):
    prep = model.data_preprocessor
    if not getattr(prep, '_enable_normalize', False):
        return (0., 0., 0.), (1., 1., 1.)
    return prep.mean.flatten().tolist(), prep.std.flatten().tolist()


def export_from_config(args: argparse.Namespace) -> dict:
    """Build, (fuse,) export, check and optionally quantize.

    Returns:
        dict: ``out``, ``max_abs_diff`` (eager vs onnxruntime on four real
        photos) and, with ``--int8``, ``int8_out``, ``fp32_top1`` and
        ``int8_top1`` in percent on the val split and
        ``int8_max_abs_diff``.

    Raises:
        RuntimeError: If onnxruntime differs from eager by more than 1e-4.
    """
    checkpoint = None if args.checkpoint == 'none' else args.checkpoint
    model = init_model(args.config, checkpoint)
    if args.fuse:
        fuse_conv_bn(model)
    export_onnx(model, args.out, (1, 3, *args.shape), args.opset)
    photos = sample_photos(args.shape[0], *_norm_stats(model))
    diff = max_abs_diff(model, onnx_session(args.out), photos)
    report = dict(out=args.out, max_abs_diff=diff)
    if diff > ONNX_TOLERANCE:
        raise RuntimeError(f'onnxruntime output differs from eager by {diff} '
                           f'> {ONNX_TOLERANCE} on real photos')
    if args.int8:
        report.update(_quantize_and_evaluate(model, args))
    return report


def _quantize_and_evaluate(model, args) -> dict:
    skipped = []
    calib = _split_batches(model.cfg, model, 'train', args.calib_batches,
                           skipped)
    quantize_int8(args.out, args.int8, [inputs for inputs, _ in calib])
    val = _split_batches(model.cfg, model, 'val', skipped=skipped)
    fp32, int8 = onnx_session(args.out), onnx_session(args.int8)
    return dict(int8_out=args.int8, skipped=skipped,
                fp32_top1=onnx_accuracy(fp32, val),
                int8_top1=onnx_accuracy(int8, val),
                int8_max_abs_diff=max_abs_diff(model, int8, val[0][0]))


def main(argv=None) -> dict:
    """Export, check, and print the report; with ``--int8``, unreadable
    files of the calibration and val splits are skipped and listed.

    Raises:
        SkippedFilesError: At the end, when files were skipped and
            ``--allow-skipped`` not given.
    """
    args = parse_export_args(argv)
    report = export_from_config(args)
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
