"""Compile time of ``torch.compile(dynamic=True)`` for the backbone with
``Conv2d`` against ``Conv2dSame`` (and torchvision's model), measured side
by side in one process.

    python -m mbv3.cli.benchmark_compile \
        --arch small --backend eager

Prints, per model, the seconds of the first call (capture and compile at
one size), of a call at a new size (what a recompile costs, 0 if none),
the graphs compiled and each model's compile time relative to ``Conv2d``.
"""
import argparse
import time

import torch
from torch._dynamo.utils import counters

from mbv3.models import MobileNetV3
from ._command import command

SIZES = ((2, 3, 224, 224), (3, 3, 193, 257))


def compile_seconds(model, backend: str):
    """Seconds of the first call and of a call at a new size, and the
    number of graphs dynamo compiled."""
    torch._dynamo.reset()
    counters.clear()
    compiled = torch.compile(model, dynamic=True, backend=backend)
    seconds = []
    with torch.no_grad():
        for size in SIZES:
            x = torch.randn(size)
            start = time.perf_counter()
            compiled(x)
            seconds.append(time.perf_counter() - start)
    return seconds, counters['stats']['unique_graphs']


@command
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', default='small')
    parser.add_argument('--backend', default='inductor',
                        help="torch.compile backend: 'inductor' (code "
                        "generation), 'aot_eager' or 'eager' (capture only)")
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    models = {
        conv: MobileNetV3(args.arch, conv_cfg=dict(type=conv)).eval()
        for conv in ('Conv2d', 'Conv2dSame')
    }
    if args.arch in ('large', 'small'):
        import torchvision
        models['torchvision'] = getattr(
            torchvision.models, f'mobilenet_v3_{args.arch}')().features.eval()
    results = {name: compile_seconds(model, args.backend)
               for name, model in models.items()}
    base = sum(results['Conv2d'][0])
    print(f'torch.compile(dynamic=True, backend={args.backend!r}), '
          f'{args.arch}, sizes {SIZES}')
    for name, (seconds, graphs) in results.items():
        print(f'{name:12s} first {seconds[0]:7.1f} s, new size '
              f'{seconds[1]:6.1f} s, {graphs} graph(s), '
              f'{sum(seconds) / base:.2f}x the Conv2d total')
    return results


if __name__ == '__main__':
    from mbv3.cli import run
    run('benchmark_compile')
