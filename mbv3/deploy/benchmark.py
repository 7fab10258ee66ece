"""Side-by-side speed of mbv3, torchvision and timm MobileNetV3.

All candidates run in one process, interleaved round by round (the order
rotates each round), so that load from other processes hits them alike;
each reports the median over rounds. Ratios are speed-ups over
torchvision's eager model at the same settings.
"""
import contextlib
import dataclasses
import os
import statistics
import tempfile
from typing import Callable, Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .fuse import prepare_for_inference
from .timing import interleave

BASELINE = 'torchvision eager'
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
    results = {}
    for name, samples in times.items():
        latency = statistics.median(samples)
        results[name] = dict(latency_ms=latency * 1000,
                             img_s=args.batch / latency,
                             ratio=base / latency, memory_mb=memory[name])
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
