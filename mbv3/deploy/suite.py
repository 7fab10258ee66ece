"""The deployment benchmark: every CPU inference path of mbv3 beside
torchvision's and timm's, timed interleaved in one process, at batch 1
(latency) and batch 32 (throughput), under glibc's default allocator and
then under the tuned one (:mod:`mbv3.deploy.malloc`).

Ratios are speed-ups over torchvision eager at the same batch under the
default allocator (what users get without mbv3's commands).
"""
import copy
import os
import platform
import statistics
from typing import Callable, Dict, List, Sequence

import torch
from torch import nn

from mbv3.models.input_spec import input_spec
from mbv3.models.quantization import quantize_ptq
from mbv3.deploy.malloc import tune_allocator
from .checks import sample_photos
from .fuse import prepare_for_inference
from .runtimes import export_model, load_runner, missing_packages
from .timing import interleave

BASELINE = 'torchvision eager'
BATCHES = (1, 32)
# ExecuTorch programs have a fixed shape; exporting and lowering one costs
# tens of seconds, so its paths run at batch 1 only.
BATCH1_ONLY = ('mbv3 executorch fp32', 'mbv3 executorch int8')


def summarize(times: Dict[str, Sequence[float]], batch: int,
              baseline_s: float) -> Dict[str, dict]:
    """Median seconds per call -> ``latency_ms``, ``img_s`` (images per
    second) and ``ratio`` (``baseline_s`` / median: the speed-up over the
    baseline)."""
    rows = {}
    for name, samples in times.items():
        median = statistics.median(samples)
        rows[name] = dict(latency_ms=median * 1000, img_s=batch / median,
                          ratio=baseline_s / median)
    return rows


def _reference_models() -> Dict[str, nn.Module]:
    import timm
    import torchvision
    return {BASELINE: torchvision.models.mobilenet_v3_large().eval(),
            'timm eager': timm.create_model('mobilenetv3_large_100').eval()}


def torchvision_int8(calibration: torch.Tensor) -> nn.Module:
    """torchvision's quantizable ``mobilenet_v3_large`` (random weights),
    fused, calibrated on ``calibration`` and converted to x86 eager int8
    (torchvision's post-training recipe)."""
    import torch.ao.quantization as tq
    from torchvision.models.quantization import mobilenet_v3_large
    torch.backends.quantized.engine = 'x86'
    model = mobilenet_v3_large(quantize=False).eval()
    model.fuse_model(is_qat=False)
    model.qconfig = tq.get_default_qconfig('x86')
    tq.prepare(model, inplace=True)
    with torch.no_grad():
        model(calibration)
    return tq.convert(model)


def _eager(model: nn.Module, channels_last: bool = False) -> Callable:
    def run(x):
        with torch.inference_mode():
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            return model(x)
    return run


def _compiled(model: nn.Module) -> Callable:
    compiled = torch.compile(model, dynamic=False)
    return _eager(compiled)


def _exported(model, runtime, tmpdir, tag, shape, calibration, threads,
              batch=1) -> Callable:
    ext = {'onnxruntime': '.onnx', 'openvino': '.xml',
           'executorch': '.pte'}[runtime]
    path = export_model(model, runtime, os.path.join(tmpdir, tag + ext),
                        shape, calibration)
    return load_runner(runtime, path, threads, batch)


def build_paths(mbv3_model: nn.Module, size: int, threads: int,
                tmpdir: str, skip: Sequence[str] = ()) -> Dict[str, dict]:
    """``{name: {'fn': fn(x), 'batches': (...)}}`` for every path whose
    packages are installed (the others are reported by
    :func:`skipped_paths`) and whose name is not in ``skip``.

    ``mbv3_model`` is an eval-mode classifier taking ``(N, 3, size,
    size)``; int8 paths calibrate on the four real photos.
    """
    photos = sample_photos(input_spec(mbv3_model, (size, size)))
    shape = (1, 3, size, size)
    refs = _reference_models()
    fused = prepare_for_inference(copy.deepcopy(mbv3_model),
                                  channels_last=False)
    builders = {
        'mbv3 eager': lambda: _eager(mbv3_model),
        'mbv3 fused + channels_last': lambda: _eager(prepare_for_inference(
            copy.deepcopy(mbv3_model)), channels_last=True),
        'mbv3 compile': lambda: _compiled(copy.deepcopy(fused)),
        BASELINE: lambda: _eager(refs[BASELINE]),
        'torchvision compile': lambda: _compiled(copy.deepcopy(
            refs[BASELINE])),
        'torchvision int8 (x86 eager)': lambda: _eager(
            torchvision_int8(photos)),
        # FX graph mode int8 (x86), the graph a QAT fine-tune converts to
        'mbv3 torch-fx int8': lambda: _eager(quantize_ptq(
            copy.deepcopy(mbv3_model), [photos])),
        'timm eager': lambda: _eager(refs['timm eager']),
    }
    for runtime in ('onnxruntime', 'openvino'):
        if missing_packages(runtime):
            continue
        for precision in ('fp32', 'int8'):
            calib = [photos] if precision == 'int8' else None
            builders[f'mbv3 {runtime} {precision}'] = (
                lambda r=runtime, c=calib, p=precision: _exported(
                    fused, r, tmpdir, f'mbv3_{r}_{p}', shape, c, threads))
        builders[f'torchvision {runtime} fp32'] = (
            lambda r=runtime: _exported(refs[BASELINE], r, tmpdir,
                                        f'tv_{r}', shape, None, threads))
    if not missing_packages('executorch'):
        for precision in ('fp32', 'int8'):
            calib = [photos] if precision == 'int8' else None
            builders[f'mbv3 executorch {precision}'] = (
                lambda c=calib, p=precision: _exported(
                    fused, 'executorch', tmpdir, f'mbv3_et_{p}', shape, c,
                    threads))
    return {name: dict(fn=build(),
                       batches=(1, ) if name in BATCH1_ONLY else BATCHES)
            for name, build in builders.items() if name not in skip}


def skipped_paths() -> Dict[str, str]:
    """Paths left out because their runtime's packages are missing, with
    the reason."""
    reasons = {}
    for runtime in ('onnxruntime', 'openvino', 'executorch'):
        reason = missing_packages(runtime)
        if reason:
            reasons[f'mbv3 {runtime} fp32/int8'] = reason
    return reasons


def _set_threads(threads: int) -> Dict[str, int]:
    torch.set_num_threads(threads)
    settings = dict(torch_intra_op=torch.get_num_threads(),
                    torch_inter_op=torch.get_num_interop_threads(),
                    onnxruntime_intra_op=threads, openvino=threads)
    if not missing_packages('executorch'):
        from executorch.extension.pybindings import portable_lib
        portable_lib._unsafe_reset_threadpool(threads)
        settings['executorch_xnnpack'] = \
            portable_lib._threadpool_get_thread_count()
    return settings


def _time_batches(paths, size, counts, allocator) -> Dict[str, dict]:
    results = {}
    for batch in BATCHES:
        iters, rounds, warmup = counts[batch]
        fns = {name: path['fn'] for name, path in paths.items()
               if batch in path['batches']}
        x = torch.rand(batch, 3, size, size)
        print(f'timing {len(fns)} paths at batch {batch}, allocator '
              f'{allocator} ({rounds} rounds x {iters} calls)', flush=True)
        results[batch] = interleave(fns, x, iters, rounds, warmup)
    return results


def run_suite(mbv3_model: nn.Module, size: int = 224, threads: int = 2,
              counts=None, tmpdir: str = None,
              skip: Sequence[str] = ()) -> dict:
    """Build every path, time it under the default allocator, switch to the
    tuned allocator and time it again.

    Args:
        mbv3_model (nn.Module): mbv3 classifier in eval mode.
        size (int): Input height and width in pixels.
        threads (int): Threads of every runtime.
        counts (dict): ``{batch: (iters, rounds, warmup)}``; defaults to
            ``{1: (10, 5, 3), 32: (1, 3, 1)}``.
        tmpdir (str): Where the exported files go.
        skip (Sequence[str]): Path names to leave out.

    Returns:
        dict: ``settings`` (threads, versions, allocators, counts),
        ``skipped`` (path -> reason) and ``results[allocator][batch][path]``
        with ``latency_ms``, ``img_s`` and ``ratio`` over torchvision eager
        under the default allocator at that batch.
    """
    counts = counts or {1: (10, 5, 3), 32: (1, 3, 1)}
    threads_used = _set_threads(threads)
    paths = build_paths(mbv3_model, size, threads, tmpdir, skip)
    raw = {'default': _time_batches(paths, size, counts, 'default')}
    tuned = tune_allocator('tuned')
    raw['tuned'] = _time_batches(paths, size, counts, 'tuned')
    results = {}
    for allocator, per_batch in raw.items():
        results[allocator] = {}
        for batch, times in per_batch.items():
            base = statistics.median(raw['default'][batch][BASELINE])
            results[allocator][str(batch)] = summarize(times, batch, base)
    return dict(settings=dict(
        size=size, threads=threads_used, tuned_allocator=tuned,
        counts={str(b): list(c) for b, c in counts.items()},
        torch=torch.__version__, cpu=platform.processor() or
        platform.machine(), cores=os.cpu_count(),
        load_average=list(os.getloadavg())),
        skipped=skipped_paths(), results=results)


def format_suite(report: dict) -> str:
    """The printed table: per path, batch-1 latency, batch-32 throughput
    and ratios over torchvision eager, for both allocators."""
    s = report['settings']
    lines = [f"size={s['size']} threads={s['threads']} "
             f"tuned allocator: {s['tuned_allocator']} "
             f"load average at the end: {s['load_average']}"]
    header = (f"{'path':<34}{'alloc':>8}{'b1 ms':>9}{'b1 ratio':>10}"
              f"{'b32 img/s':>11}{'b32 ratio':>11}")
    lines.append(header)
    for allocator, per_batch in report['results'].items():
        for name in per_batch['1']:
            b1 = per_batch['1'][name]
            b32 = per_batch.get('32', {}).get(name)
            tail = (f"{b32['img_s']:>11.1f}{b32['ratio']:>10.2f}x"
                    if b32 else f"{'-':>11}{'-':>11}")
            lines.append(f"{name:<34}{allocator:>8}{b1['latency_ms']:>9.2f}"
                         f"{b1['ratio']:>9.2f}x{tail}")
    for name, reason in report['skipped'].items():
        lines.append(f'skipped {name}: {reason}')
    return '\n'.join(lines)


def best(rows: Dict[str, dict], names: List[str]) -> tuple:
    """``(name, row)`` of the fastest of ``names`` present in ``rows``."""
    present = [n for n in names if n in rows]
    name = max(present, key=lambda n: rows[n]['ratio'])
    return name, rows[name]
