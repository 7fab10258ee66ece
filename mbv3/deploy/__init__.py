"""Deployment: Conv-BN folding, channels_last, ONNX and benchmarks."""
from .fuse import count_batchnorms, fuse_conv_bn, prepare_for_inference
from .onnx import (check_sizes, export_onnx, max_abs_diff, onnx_session,
                   quantize_int8, run_onnx, sample_photos)

__all__ = [
    'count_batchnorms', 'fuse_conv_bn', 'prepare_for_inference',
    'check_sizes', 'export_onnx', 'max_abs_diff', 'onnx_session',
    'quantize_int8', 'run_onnx', 'sample_photos'
]
