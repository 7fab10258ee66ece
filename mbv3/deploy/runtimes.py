"""One interface over the deployment runtimes: export a model, optionally
int8, and get back ``fn(x) -> ndarray`` to check and time it."""
import importlib.util
import os
from typing import Callable, Iterable, Optional, Sequence

from torch import nn

from mbv3.version import install_hint

# runtime -> (the modules it imports, file extension, whether the exported
# program keeps a fixed input shape). ExecuTorch's are its submodules: a
# wheel can install ``executorch`` without its ``backends``.
RUNTIMES = {
    'onnxruntime': (('onnx', 'onnxruntime'), '.onnx', False),
    'openvino': (('openvino', 'nncf'), '.xml', False),
    'executorch': (('executorch.exir', 'executorch.backends.xnnpack',
                    'executorch.runtime', 'torchao'), '.pte', True),
}
# How to install a runtime whose wheel's own dependency list does not fit
# (docs/deployment.md): ExecuTorch 1.5.1 without its pins.
INSTALL_HINTS = {
    'executorch': 'pip install --no-deps executorch==1.5.1, then pip '
                  'install flatbuffers "torchao>=0.18,<0.19" ruamel.yaml '
                  'pyyaml tabulate sympy expecttest; see docs/deployment.md',
}


def _check_runtime(runtime: str) -> None:
    if runtime not in RUNTIMES:
        raise ValueError(f'runtime must be one of {sorted(RUNTIMES)}, got '
                         f'{runtime!r}')


def _found(module: str) -> bool:
    """Whether ``module`` can be imported (a dotted name whose parent
    package is missing is not)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def missing_packages(runtime: str) -> Optional[str]:
    """Why ``runtime`` cannot run here (``'openvino is not installed'``,
    ``'executorch.backends.xnnpack is not installed'``) with the install
    line, or None when all its modules are found.

    Raises:
        ValueError: If ``runtime`` is not one of :data:`RUNTIMES`.
    """
    _check_runtime(runtime)
    missing = [m for m in RUNTIMES[runtime][0] if not _found(m)]
    if not missing:
        return None
    hint = INSTALL_HINTS.get(runtime, install_hint(*missing))
    return f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} " \
        f'not installed ({hint})'


def _require(runtime: str) -> None:
    reason = missing_packages(runtime)
    if reason is not None:
        raise ModuleNotFoundError(f'runtime {runtime!r}: {reason}')


def fixed_shape(runtime: str) -> bool:
    """Whether ``runtime``'s exported program only takes its export shape
    (ExecuTorch); onnxruntime and OpenVINO take any N, H and W."""
    _check_runtime(runtime)
    return RUNTIMES[runtime][2]


def export_model(model: nn.Module, runtime: str, out: str,
                 input_shape: Sequence[int],
                 calibration: Optional[Iterable] = None, **options) -> str:
    """Export ``model`` for ``runtime``; int8 when ``calibration`` is given.

    int8 is static post-training quantization on each runtime's own tool:
    onnxruntime's ``quantize_static`` (QDQ), NNCF for OpenVINO, the XNNPACK
    quantizer (pt2e) for ExecuTorch. ``out`` is the file to write; for
    onnxruntime and OpenVINO int8 the float model is written first to
    ``out`` with ``.fp32`` inserted before the extension.

    Args:
        model (nn.Module): Model in eval mode, input ``(N, C, H, W)``
            normalised.
        runtime (str): One of :data:`RUNTIMES`.
        out (str): Output file (``.onnx``, ``.xml``, ``.pte``).
        input_shape (Sequence[int]): Example input ``(N, C, H, W)``, the
            fixed shape of ExecuTorch programs.
        calibration (Iterable[Tensor], optional): Normalised batches.
        **options: Passed to the float exporter (``opset`` for
            onnxruntime).

    Returns:
        str: ``out``.

    Raises:
        ValueError: If ``runtime`` is unknown.
        ModuleNotFoundError: If its packages are not installed.
    """
    _require(runtime)
    if runtime == 'executorch':
        from .executorch import export_executorch
        return export_executorch(model, out, input_shape, calibration)
    if runtime == 'onnxruntime':
        from .onnx import export_onnx as export_float
        from .onnx import quantize_int8 as quantize
    else:
        from .openvino import export_openvino as export_float
        from .openvino import quantize_openvino as quantize
    if calibration is None:
        return export_float(model, out, input_shape, **options)
    root, ext = os.path.splitext(out)
    fp32 = export_float(model, f'{root}.fp32{ext}', input_shape, **options)
    return quantize(fp32, out, calibration)


def load_runner(runtime: str, path: str, threads: int = 2,
                batch: int = 1) -> Callable:
    """An exported file as ``fn(x (N, C, H, W)) -> ndarray`` (the first
    output), on ``threads`` CPU threads (ExecuTorch: XNNPACK's pool, run
    in chunks of its exported ``batch``).

    Raises:
        ValueError: If ``runtime`` is unknown.
        ModuleNotFoundError: If its packages are not installed (the
            message gives the install line).
    """
    _require(runtime)
    if runtime == 'onnxruntime':
        from .onnx import onnx_session, run_onnx
        session = onnx_session(path, threads)
        return lambda x: run_onnx(session, x)
    if runtime == 'openvino':
        from .openvino import openvino_runner
        return openvino_runner(path, threads)
    from .executorch import executorch_runner
    return executorch_runner(path, batch)
