"""ExecuTorch: a ``.pte`` lowered to the XNNPACK delegate (fp32, and int8
through its XNNPACK quantizer), run in ExecuTorch's Python runtime."""
from typing import Callable, Iterable, Optional, Sequence

import torch
from torch import nn


def _int8_module(model: nn.Module, example: torch.Tensor,
                 calibration: Iterable) -> nn.Module:
    """pt2e post-training quantization with XNNPACK's quantizer (symmetric
    int8, weights per channel), calibrated on ``calibration``."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer, get_symmetric_quantization_config)
    from torchao.quantization.pt2e.quantize_pt2e import (convert_pt2e,
                                                         prepare_pt2e)
    quantizer = XNNPACKQuantizer().set_global(
        get_symmetric_quantization_config(is_per_channel=True))
    graph = torch.export.export(model, (example, )).module()
    prepared = prepare_pt2e(graph, quantizer)
    with torch.no_grad():
        for batch in calibration:
            for image in torch.as_tensor(batch).split(example.shape[0]):
                prepared(image)
    return convert_pt2e(prepared)


def export_executorch(model: nn.Module, path: str,
                      input_shape: Sequence[int] = (1, 3, 224, 224),
                      calibration: Optional[Iterable] = None) -> str:
    """``torch.export`` then ``to_edge_transform_and_lower`` onto XNNPACK.

    The program has a fixed input shape, ``input_shape`` ``(N, C, H, W)``
    normalised float32; export once per deployed size.

    Args:
        model (nn.Module): Model in eval mode.
        path (str): Output ``.pte``.
        input_shape (Sequence[int]): The program's input shape in pixels.
        calibration (Iterable[Tensor], optional): Normalised batches; when
            given, the model is quantized to int8 (XNNPACK quantizer,
            per-channel symmetric weights) before lowering.

    Returns:
        str: ``path``.
    """
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import \
        XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower
    model = model.eval()
    example = torch.rand(*input_shape)
    if calibration is not None:
        model = _int8_module(model, example, calibration)
    with torch.no_grad():
        program = torch.export.export(model, (example, ))
    lowered = to_edge_transform_and_lower(
        program, partitioner=[XnnpackPartitioner()]).to_executorch()
    with open(path, 'wb') as f:
        f.write(lowered.buffer)
    return path


def executorch_runner(path: str, batch: int = 1) -> Callable:
    """A ``.pte`` loaded in ExecuTorch's runtime as ``fn(x) -> ndarray``.

    ``x`` ``(M, C, H, W)`` must have the program's exported C, H and W; it
    runs in chunks of the exported ``batch`` (M a multiple of it). XNNPACK
    uses its own thread pool, sized to the machine's cores."""
    from executorch.runtime import Runtime
    method = Runtime.get().load_program(path).load_method('forward')

    def run(x):
        chunks = torch.as_tensor(x).split(batch)
        return torch.cat([method.execute([c.contiguous()])[0]
                          for c in chunks]).numpy()
    return run
