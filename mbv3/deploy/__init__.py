"""Deployment: Conv-BN folding, channels_last, ONNX Runtime, OpenVINO,
ExecuTorch, int8 calibration and benchmarks."""
from .calibration import calibration_batches, split_batches
from .checks import (check_sizes, compare_outputs, eager_runner,
                     sample_photos, top1_accuracy)
from .fuse import fuse_conv_bn, prepare_for_inference
from .onnx import export_onnx, onnx_session, quantize_int8, run_onnx
from .runtimes import (RUNTIMES, export_model, fixed_shape, load_runner,
                       missing_packages)

__all__ = [
    'calibration_batches', 'split_batches', 'check_sizes', 'eager_runner',
    'compare_outputs', 'sample_photos', 'top1_accuracy', 'fuse_conv_bn',
    'prepare_for_inference', 'export_onnx', 'onnx_session', 'quantize_int8',
    'run_onnx', 'RUNTIMES', 'export_model', 'fixed_shape', 'load_runner',
    'missing_packages'
]
