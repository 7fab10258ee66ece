"""Side-by-side speed of mbv3, torchvision and timm MobileNetV3: the one
benchmark framework of mbv3.

All candidates run in one process, interleaved round by round
(:func:`mbv3.deploy.timing.interleave`), so that load from other processes
hits them alike; each reports the median over rounds. Ratios are speed-ups
over torchvision's eager model (:data:`BASELINE`) at the same settings.

* :func:`run_benchmark`: one setting (arch, device, dtype, batch, mode)
  for mbv3, torchvision and timm, eager or compiled, optionally fused or
  in onnxruntime.
* :func:`run_suite`: the deployment benchmark, every CPU inference path
  (eager, compiled, fused, onnxruntime, OpenVINO, ExecuTorch, int8) at
  batch 1 (latency) and 32 (throughput), under glibc's default allocator
  and then the tuned one (:mod:`mbv3.deploy.malloc`); ratios over
  torchvision eager under the default allocator.
"""
import contextlib
import copy
import dataclasses
import os
import platform
import statistics
import tempfile
from typing import Callable, Dict, List, Optional, Sequence
from unittest import mock

import torch
import torch.nn.functional as F
from torch import nn

from mbv3.models.input_spec import input_spec
from mbv3.models.quantization import compile_int8, quantize_ptq
from .checks import sample_photos
from .fuse import prepare_for_inference
from .malloc import tune_allocator
from .runtimes import export_model, load_runner, missing_packages
from .timing import interleave, timed_call

BASELINE = 'torchvision eager'
# The suite's batches; ExecuTorch programs have a fixed shape, and
# exporting and lowering one costs tens of seconds, so its paths run at
# batch 1 only.
BATCHES = (1, 32)
BATCH1_ONLY = ('mbv3 executorch fp32', 'mbv3 executorch int8')
DTYPES = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}
CONFIGS = {
    'large': 'configs/_base_/models/mobilenet-v3-large.py',
    'small': 'configs/_base_/models/mobilenet-v3-small.py',
}


@dataclasses.dataclass(frozen=True)
class BenchmarkSettings:
    """What :func:`run_benchmark` times: ``arch`` (a key of
    :data:`CONFIGS`) on ``device`` in ``dtype`` (a key of :data:`DTYPES`),
    ``batch`` images of ``size`` pixels, ``mode`` 'eval' (forward) or
    'train' (an SGD step), optionally ``channels_last``, ``compile``d,
    with the ``deploy`` (fused), ``onnx`` (on ``onnx_threads``
    intra-op threads) and ``with_cp`` candidates, on
    ``threads`` CPU threads, ``rounds`` x ``iters`` timed calls after
    ``warmup`` calls."""
    arch: str = 'large'
    device: str = 'cpu'
    dtype: str = 'fp32'
    batch: int = 1
    size: int = 224
    mode: str = 'eval'
    channels_last: bool = False
    compile: bool = False
    deploy: bool = False
    onnx: bool = False
    onnx_threads: int = 2
    with_cp: bool = False
    threads: Optional[int] = None
    iters: int = 10
    rounds: int = 5
    warmup: int = 3


def mbv3_model(arch: str, with_cp: bool = False) -> nn.Module:
    """mbv3's ImageNet classifier of ``arch`` ('large' or 'small'), as its
    config builds it (initial weights), in eval mode."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mbv3.registry import MODELS
    from mbv3.utils.config_files import find_config
    cfg = Config.fromfile(find_config(CONFIGS[arch]))
    cfg.model.backbone.with_cp = with_cp
    init_default_scope(cfg.get('default_scope', 'mbv3'))
    return MODELS.build(cfg.model).eval()


def _reference_models(arch: str) -> Dict[str, nn.Module]:
    import timm
    import torchvision
    return {
        BASELINE: getattr(torchvision.models, f'mobilenet_v3_{arch}')(),
        'timm eager': timm.create_model(f'mobilenetv3_{arch}_100',
                                        pretrained=False),
    }


def _step_fn(model: nn.Module, args, device) -> Callable:
    """One timed call: a forward (eval) or a training step (train)."""
    model.to(device)
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
    if args.mode == 'eval':
        model.eval()
    else:
        model.train()
    runner = torch.compile(model) if args.compile else model
    dtype = DTYPES[args.dtype]
    autocast = (lambda: torch.autocast(device.type, dtype=dtype)) \
        if dtype is not None else contextlib.nullcontext
    if args.mode == 'eval':
        def forward(x):
            with torch.inference_mode(), autocast():
                return runner(x)
        return forward
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    labels = torch.zeros(args.batch, dtype=torch.long, device=device)

    def train_step(x):
        with autocast():
            loss = F.cross_entropy(runner(x), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss
    return train_step


def _onnx_fn(model: nn.Module, args, tmpdir: str) -> Callable:
    from mbv3.models.input_spec import input_spec
    from .onnx import export_onnx, onnx_session, run_onnx
    spec = input_spec(model, (args.size, args.size))
    path = export_onnx(model.eval(), os.path.join(tmpdir, 'mbv3.onnx'),
                       spec.batch_shape(args.batch))
    session = onnx_session(path, threads=args.onnx_threads)
    return lambda x: run_onnx(session, x)


def build_candidates(args, tmpdir: str) -> Dict[str, Callable]:
    """``{name: fn(x)}``: mbv3, torchvision and timm eager (or compiled)
    at ``args``' settings, plus the optional mbv3 paths."""
    device = torch.device(args.device)
    fns = {'mbv3 eager': _step_fn(mbv3_model(args.arch), args, device)}
    for name, model in _reference_models(args.arch).items():
        fns[name] = _step_fn(model, args, device)
    if args.with_cp:
        fns['mbv3 eager with_cp'] = _step_fn(
            mbv3_model(args.arch, with_cp=True), args, device)
    if args.deploy:
        model = prepare_for_inference(mbv3_model(args.arch).to(device))
        fns['mbv3 deploy (fused + channels_last)'] = _step_fn(
            model, dataclasses.replace(args, channels_last=True), device)
    if args.onnx:
        fns['mbv3 onnxruntime'] = _onnx_fn(mbv3_model(args.arch), args,
                                           tmpdir)
    if args.compile:
        fns = {name.replace('eager', 'compiled'): fn
               for name, fn in fns.items()}
    return fns


def _memory_mb(fn: Callable, x, device, train: bool) -> float:
    """Peak CUDA memory of one call (GPU), or on CPU the tensors kept for
    backward in a training step (what ``with_cp`` saves), in MiB."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn(x)
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) / 2**20
    if not train:
        return float('nan')
    saved = {}

    def pack(tensor):
        key = (tensor.untyped_storage().data_ptr(), tensor.dtype)
        saved[key] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x)
    return sum(saved.values()) / 2**20


def run_benchmark(**settings) -> Dict[str, dict]:
    """Warm up, then time every candidate interleaved.

    Args:
        **settings: The fields of :class:`BenchmarkSettings` (``arch``,
            ``device``, ``dtype``, ``batch``, ``size``, ``mode``, ...), by
            keyword; the others keep their defaults.

    Returns:
        dict: Per candidate ``latency_ms`` (median per call), ``img_s``
        (images per second), ``ratio`` (speed-up over torchvision eager)
        and ``memory_mb`` (see :func:`_memory_mb`).

    Raises:
        TypeError: For a keyword that is not a setting.
    """
    args = BenchmarkSettings(**settings)
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    x = torch.rand(args.batch, 3, args.size, args.size, device=device)
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with tempfile.TemporaryDirectory() as tmpdir:
        fns = build_candidates(args, tmpdir)
        times = interleave(fns, x, args.iters, args.rounds, args.warmup,
                           device)
        memory = {name: _memory_mb(fn, x, device, args.mode == 'train')
                  for name, fn in fns.items()}
    base = statistics.median(times[BASELINE.replace(
        'eager', 'compiled' if args.compile else 'eager')])
    results = summarize(times, args.batch, base)
    for name, row in results.items():
        row['memory_mb'] = memory[name]
    return results


def format_results(results: Dict[str, dict], **settings) -> str:
    """The printed report: settings (as given to :func:`run_benchmark`),
    one row per candidate, the ratios."""
    args = BenchmarkSettings(**settings)
    settings = (f'arch={args.arch} device={args.device} dtype={args.dtype} '
                f'batch={args.batch} size={args.size} mode={args.mode} '
                f'channels_last={args.channels_last} compile={args.compile} '
                f'threads={torch.get_num_threads()} '
                f'onnx_threads={args.onnx_threads} '
                f'rounds={args.rounds}x{args.iters}')
    memory = 'peak MiB' if args.device.startswith('cuda') else \
        'saved-for-backward MiB'
    lines = [settings,
             f"{'candidate':<40}{'latency ms':>12}{'img/s':>10}"
             f"{'ratio':>8}{memory:>24}"]
    for name, row in results.items():
        lines.append(f"{name:<40}{row['latency_ms']:>12.2f}"
                     f"{row['img_s']:>10.1f}{row['ratio']:>7.2f}x"
                     f"{row['memory_mb']:>24.1f}")
    baseline = next(n for n in results if n.startswith('torchvision'))
    for name, row in results.items():
        if name != baseline:
            lines.append(f'ratio {name} / {baseline}: '
                         f"{row['ratio']:.2f}x")
    return '\n'.join(lines)


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
    refs = {name: model.eval()
            for name, model in _reference_models('large').items()}
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
        # PT2E int8 (x86 quantizer, inductor int8 kernels), the graph a QAT
        # fine-tune converts to; the first call at each batch size compiles
        'mbv3 pt2e int8': lambda: _eager(compile_int8(quantize_ptq(
            copy.deepcopy(mbv3_model), [photos]))),
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


def _time_batches(paths, size, counts, allocator) -> tuple:
    """Per batch, the seconds per call of every path (:func:`interleave`)
    and the seconds of its first call at that batch, before any warm-up:
    the compilation of the compiled paths, whose first call at each batch
    size compiles."""
    results, first_calls = {}, {}
    for batch in BATCHES:
        iters, rounds, warmup = counts[batch]
        fns = {name: path['fn'] for name, path in paths.items()
               if batch in path['batches']}
        x = torch.rand(batch, 3, size, size)
        print(f'timing {len(fns)} paths at batch {batch}, allocator '
              f'{allocator} ({rounds} rounds x {iters} calls)', flush=True)
        first_calls[batch] = {name: timed_call(fn, x)[1]
                              for name, fn in fns.items()}
        results[batch] = interleave(fns, x, iters, rounds, warmup)
    return results, first_calls


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
        dict: ``settings`` (threads, versions, allocators, counts, the
        1/5/15-minute load averages at the start and at the end),
        ``skipped`` (path -> reason) and ``results[allocator][batch][path]``
        with ``latency_ms``, ``img_s``, ``ratio`` over torchvision eager
        under the default allocator at that batch and ``first_call_s``
        (seconds of the path's first call at that batch under that
        allocator: the compile time of the compiled paths under the
        default one, which times first).
    """
    counts = counts or {1: (10, 5, 3), 32: (1, 3, 1)}
    load_at_start = list(os.getloadavg())
    threads_used = _set_threads(threads)
    paths = build_paths(mbv3_model, size, threads, tmpdir, skip)
    raw, first_calls = {}, {}
    # an empty inductor cache, so that the first calls compile as on a new
    # machine (with the kernels of an earlier run cached, they take seconds)
    with mock.patch.dict(os.environ, TORCHINDUCTOR_CACHE_DIR=tempfile.mkdtemp(
            prefix='inductor_', dir=tmpdir)):
        raw['default'], first_calls['default'] = _time_batches(
            paths, size, counts, 'default')
    tuned = tune_allocator('tuned')
    raw['tuned'], first_calls['tuned'] = _time_batches(paths, size, counts,
                                                       'tuned')
    results = {}
    for allocator, per_batch in raw.items():
        results[allocator] = {}
        for batch, times in per_batch.items():
            base = statistics.median(raw['default'][batch][BASELINE])
            rows = summarize(times, batch, base)
            for name, row in rows.items():
                row['first_call_s'] = first_calls[allocator][batch][name]
            results[allocator][str(batch)] = rows
    return dict(settings=dict(
        size=size, threads=threads_used, tuned_allocator=tuned,
        counts={str(b): list(c) for b, c in counts.items()},
        torch=torch.__version__, cpu=platform.processor() or
        platform.machine(), cores=os.cpu_count(),
        load_average_start=load_at_start,
        load_average=list(os.getloadavg())),
        skipped=skipped_paths(), results=results)


def format_suite(report: dict) -> str:
    """The printed table: per path, batch-1 latency, batch-32 throughput,
    ratios over torchvision eager and first-call seconds, for both
    allocators."""
    s = report['settings']
    lines = [f"size={s['size']} threads={s['threads']} "
             f"tuned allocator: {s['tuned_allocator']} "
             f"load average at the start: {s['load_average_start']}, at "
             f"the end: {s['load_average']}"]
    header = (f"{'path':<34}{'alloc':>8}{'b1 ms':>9}{'b1 ratio':>10}"
              f"{'b32 img/s':>11}{'b32 ratio':>11}{'1st call s b1/b32':>19}")
    lines.append(header)
    for allocator, per_batch in report['results'].items():
        for name in per_batch['1']:
            b1 = per_batch['1'][name]
            b32 = per_batch.get('32', {}).get(name)
            tail = (f"{b32['img_s']:>11.1f}{b32['ratio']:>10.2f}x"
                    if b32 else f"{'-':>11}{'-':>11}")
            first = f"{b1['first_call_s']:.2f}/" + (
                f"{b32['first_call_s']:.2f}" if b32 else '-')
            lines.append(f"{name:<34}{allocator:>8}{b1['latency_ms']:>9.2f}"
                         f"{b1['ratio']:>9.2f}x{tail}{first:>19}")
    for name, reason in report['skipped'].items():
        lines.append(f'skipped {name}: {reason}')
    return '\n'.join(lines)


def best(rows: Dict[str, dict], names: List[str]) -> tuple:
    """``(name, row)`` of the fastest of ``names`` present in ``rows``."""
    present = [n for n in names if n in rows]
    name = max(present, key=lambda n: rows[n]['ratio'])
    return name, rows[name]
