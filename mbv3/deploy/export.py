"""The ``tools/deployment/export_onnx.py`` pipeline: config + checkpoint ->
checked ONNX model, optionally int8-quantized and evaluated."""
import argparse

import torch
from mmengine.config import Config

from mbv3.apis.inference import init_model
from mbv3.models.input_spec import input_spec
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
    return parser.parse_args(argv)


def _split_batches(cfg: Config, model, split: str, limit=None):
    """Normalised ``(inputs, labels)`` batches of a config's dataloader."""
    from mmengine.runner import Runner

    from mbv3.apis.train import prepare_data
    prepare_data(cfg)
    loader_cfg = dict(cfg.get(f'{split}_dataloader'))
    loader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=False)
    loader = Runner.build_dataloader(loader_cfg)
    batches = []
    with torch.no_grad():
        for i, data in enumerate(loader):
            if limit is not None and i >= limit:
                break
            data = model.data_preprocessor(data, False)
            labels = torch.stack([s.gt_label for s in data['data_samples']])
            batches.append((data['inputs'], labels.reshape(-1).numpy()))
    return batches


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
    spec = input_spec(model, args.shape)
    export_onnx(model, args.out, spec.batch_shape(1), args.opset)
    photos = sample_photos(spec)
    diff = max_abs_diff(model, onnx_session(args.out), photos)
    report = dict(out=args.out, max_abs_diff=diff)
    if diff > ONNX_TOLERANCE:
        raise RuntimeError(f'onnxruntime output differs from eager by {diff} '
                           f'> {ONNX_TOLERANCE} on real photos')
    if args.int8:
        report.update(_quantize_and_evaluate(model, args))
    return report


def _quantize_and_evaluate(model, args) -> dict:
    calib = _split_batches(model.cfg, model, 'train', args.calib_batches)
    quantize_int8(args.out, args.int8, [inputs for inputs, _ in calib])
    val = _split_batches(model.cfg, model, 'val')
    fp32, int8 = onnx_session(args.out), onnx_session(args.int8)
    return dict(int8_out=args.int8,
                fp32_top1=onnx_accuracy(fp32, val),
                int8_top1=onnx_accuracy(int8, val),
                int8_max_abs_diff=max_abs_diff(model, int8, val[0][0]))


def main(argv=None) -> dict:
    report = export_from_config(parse_export_args(argv))
    print(f"exported {report['out']}; max |eager - onnxruntime| on real "
          f"photos: {report['max_abs_diff']:.2e}")
    if 'int8_out' in report:
        print(f"int8 {report['int8_out']}: val top-1 fp32 "
              f"{report['fp32_top1']:.2f}% -> int8 {report['int8_top1']:.2f}%"
              f" (change {report['int8_top1'] - report['fp32_top1']:+.2f} "
              f"points); max |int8 - eager| logit "
              f"{report['int8_max_abs_diff']:.3f}")
    return report
