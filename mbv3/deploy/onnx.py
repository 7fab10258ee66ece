"""ONNX export, onnxruntime sessions, int8 quantization and their checks."""
import os
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from mbv3.utils.checks import check_int

MIN_OPSET = 17


def export_onnx(model: nn.Module, path: str, input_shape=(1, 3, 224, 224),
                opset: int = MIN_OPSET) -> str:
    """Write ``model`` as ONNX with a dynamic batch and spatial size.

    The graph's input ``input`` is ``(N, C, H, W)`` float32, normalised as
    the model's data preprocessor would (mean/std, RGB); its output
    ``output`` is what ``model(input)`` returns (logits ``(N,
    num_classes)`` for a classifier). N, H and W are free dimensions.
    Uses the TorchScript-based exporter (``torch.onnx.export(...,
    dynamo=False)``), whose graph onnxruntime optimises well.

    Args:
        model (nn.Module): Model in eval mode (fused or not).
        path (str): Output ``.onnx`` file.
        input_shape (tuple[int, int, int, int]): Example input shape used
            for tracing, in pixels.
        opset (int): ONNX opset, at least 17. Defaults to 17.

    Returns:
        str: ``path``.

    Raises:
        ValueError: If ``opset`` is below 17.
    """
    check_int('opset', opset, low=MIN_OPSET)
    model.eval()
    param = next(model.parameters())
    example = torch.rand(*input_shape, device=param.device)
    dims = {0: 'batch', 2: 'height', 3: 'width'}
    torch.onnx.export(model, (example, ), path, opset_version=opset,
                      input_names=['input'], output_names=['output'],
                      dynamic_axes={'input': dims, 'output': {0: 'batch'}},
                      dynamo=False)
    return path


def onnx_session(path: str, threads: int = 2):
    """An onnxruntime CPU session with all graph optimisations on.

    Args:
        path (str): ``.onnx`` file.
        threads (int): ``intra_op_num_threads`` (one per physical core is
            fastest). Defaults to 2.

    Returns:
        onnxruntime.InferenceSession: Call ``run(None, {'input': x})``.
    """
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.graph_optimization_level = \
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, options,
                                providers=['CPUExecutionProvider'])


def run_onnx(session, x) -> np.ndarray:
    """Run ``session`` on ``x`` ``(N, C, H, W)`` (tensor or array);
    returns the first output as a float32 array."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().contiguous().numpy()
    return session.run(None, {'input': np.ascontiguousarray(x)})[0]


class _CalibrationReader:
    """onnxruntime ``CalibrationDataReader`` over a list of batches."""

    def __init__(self, batches: Sequence[np.ndarray]):
        self._batches = iter(batches)

    def get_next(self):
        batch = next(self._batches, None)
        return None if batch is None else {'input': batch}


def quantize_int8(fp32_path: str, int8_path: str,
                  calibration: Iterable) -> str:
    """Static int8 quantization with onnxruntime's tools.

    Weights are quantized per output channel (symmetric int8) and
    activations per tensor (uint8) with ranges calibrated (MinMax) on
    ``calibration``, in the QDQ format onnxruntime fuses into int8 kernels.

    Args:
        fp32_path (str): The float model from :func:`export_onnx`.
        int8_path (str): Output file.
        calibration (Iterable[Tensor | ndarray]): Normalised input batches
            ``(N, C, H, W)``.

    Returns:
        str: ``int8_path``.
    """
    from onnxruntime.quantization import (QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
    batches = [np.ascontiguousarray(b.numpy() if isinstance(b, torch.Tensor)
                                    else b, dtype=np.float32)
               for b in calibration]
    prepared = int8_path + '.prep.onnx'
    quant_pre_process(fp32_path, prepared, skip_symbolic_shape=True)
    try:
        quantize_static(prepared, int8_path, _CalibrationReader(batches),
                        quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8)
    finally:
        os.remove(prepared)
    return int8_path
