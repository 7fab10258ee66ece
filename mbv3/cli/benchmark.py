"""Time mbv3 beside torchvision and timm MobileNetV3, interleaved
(``tools/analysis_tools/benchmark.py``, ``mbv3-benchmark``).

    python -m mbv3.cli.benchmark --arch large --batch 1 [--deploy] [--onnx]
        [--mode train] [--channels-last] [--compile] [--dtype bf16]
        [--device cuda]
"""
import argparse
from typing import Dict

from mbv3.deploy.benchmark import (CONFIGS, DTYPES, format_results,
                                   run_benchmark)
from mbv3.engine.mmengine_fixes import apply_mmengine_fixes


def parse_args(argv=None) -> argparse.Namespace:
    """Command line of ``mbv3-benchmark``."""
    parser = argparse.ArgumentParser(
        description='Time mbv3 against torchvision and timm MobileNetV3 in '
        'one process, interleaved, and print the ratios.')
    parser.add_argument('--arch', choices=sorted(CONFIGS), default='large')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--dtype', choices=sorted(DTYPES), default='fp32',
                        help='autocast dtype (fp32: no autocast)')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--size', type=int, default=224,
                        help='input height and width in pixels')
    parser.add_argument('--mode', choices=('eval', 'train'), default='eval',
                        help='eval: forward; train: forward, backward and '
                        'an SGD step')
    parser.add_argument('--channels-last', action='store_true',
                        help='channels_last weights and inputs for all')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile every candidate model')
    parser.add_argument('--deploy', action='store_true',
                        help='add mbv3 fused + channels_last (eval only)')
    parser.add_argument('--onnx', action='store_true',
                        help='add mbv3 in onnxruntime (CPU, eval, fp32)')
    parser.add_argument('--with-cp', action='store_true',
                        help='add mbv3 with gradient checkpointing (train)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: unchanged)')
    parser.add_argument('--iters', type=int, default=10,
                        help='calls per candidate per round')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=3)
    args = parser.parse_args(argv)
    for name in ('batch', 'size', 'iters', 'rounds'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be >= 1, got {getattr(args, name)}')
    if args.mode == 'train' and (args.deploy or args.onnx):
        parser.error('--deploy and --onnx are inference paths; use '
                     '--mode eval')
    return args


def main(argv=None) -> Dict[str, dict]:
    """Parse ``argv``, time the candidates, print and return the results
    (see :func:`mbv3.deploy.benchmark.run_benchmark`)."""
    args = parse_args(argv)
    apply_mmengine_fixes()
    results = run_benchmark(**vars(args))
    print(format_results(results, **vars(args)))
    return results


if __name__ == '__main__':
    from mbv3.cli import run
    run('benchmark')
