"""OpenVINO: fp32 IR and NNCF post-training int8, run on the CPU plugin."""
import functools
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn


@functools.lru_cache(maxsize=None)
def openvino_core():
    """The process's one ``openvino.Core``, shared by every runner.

    OpenVINO's CPU plugin installs its own alternate signal stack on the
    main thread when a Core compiles a model, and puts the previous one
    back when that model is freed. Runners of separate Cores freed in the
    order they were made leave the signal stack pointing at freed memory,
    and the next signal (Ctrl-C, SIGTERM, a child's exit) kills the process
    with SIGSEGV. One Core for all models keeps the stack valid.
    """
    import openvino as ov
    return ov.Core()


def export_openvino(model: nn.Module, path: str,
                    input_shape: Sequence[int] = (1, 3, 224, 224)) -> str:
    """Convert ``model`` with ``openvino.convert_model`` and save the IR.

    The IR's input is ``(N, C, H, W)`` float32, normalised as the model's
    data preprocessor would; N, H and W are dynamic. Its output is
    ``model(input)`` (logits for a classifier).

    Args:
        model (nn.Module): Model in eval mode.
        path (str): Output ``.xml`` (the weights go to the ``.bin`` beside).
        input_shape (Sequence[int]): Example input ``(N, C, H, W)`` used for
            tracing, in pixels.

    Returns:
        str: ``path``.
    """
    import openvino as ov
    example = torch.rand(*input_shape)
    channels = int(input_shape[1])
    with torch.no_grad():
        ov_model = ov.convert_model(model.eval(), example_input=example,
                                    input=[(-1, channels, -1, -1)])
    # save_model stores fp16 weights by default (5e-3 logit error here)
    ov.save_model(ov_model, path, compress_to_fp16=False)
    return path


def quantize_openvino(fp32_path: str, int8_path: str,
                      calibration: Iterable) -> str:
    """NNCF post-training quantization (``nncf.quantize``, its default
    mixed preset: symmetric int8 weights per channel, activations per
    tensor) of an IR written by :func:`export_openvino`.

    Args:
        fp32_path (str): The float IR (``.xml``).
        int8_path (str): Output ``.xml``.
        calibration (Iterable[Tensor | ndarray]): Normalised input batches
            ``(N, C, H, W)``; every image is used.

    Returns:
        str: ``int8_path``.
    """
    import nncf
    import openvino as ov
    batches = [_numpy(b) for b in calibration]
    dataset = nncf.Dataset(batches)
    ov_model = openvino_core().read_model(fp32_path)
    quantized = nncf.quantize(ov_model, dataset, subset_size=len(batches))
    ov.save_model(quantized, int8_path, compress_to_fp16=False)
    return int8_path


def openvino_runner(path: str, threads: int = 2) -> Callable:
    """A CPU-compiled IR as ``fn(x (N, C, H, W)) -> ndarray`` (first
    output), fp32 inference precision, ``threads`` inference threads,
    latency hint (one stream), compiled by :func:`openvino_core`."""
    compiled = openvino_core().compile_model(
        path, 'CPU', {'INFERENCE_NUM_THREADS': threads,
                      'INFERENCE_PRECISION_HINT': 'f32',
                      'PERFORMANCE_HINT': 'LATENCY'})
    request = compiled.create_infer_request()

    def run(x):
        return request.infer([_numpy(x)])[0].copy()
    return run


def _numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.ascontiguousarray(x, dtype=np.float32)
