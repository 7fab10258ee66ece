"""Time mbv3 beside torchvision and timm MobileNetV3, interleaved
(``tools/analysis_tools/benchmark.py``, ``mbv3-benchmark``).

    python -m mbv3.cli.benchmark --arch large --batch 1 [--deploy] [--onnx]
        [--mode train] [--channels-last] [--compile] [--dtype bf16]
        [--device cuda] [--malloc tuned|default]
    python -m mbv3.cli.benchmark --suite [--threads 2] [--out FILE.json]
"""
import argparse
import sys
import tempfile
from typing import Dict

from mbv3.deploy.benchmark import (CONFIGS, DTYPES, format_results,
                                   run_benchmark)
from mbv3.deploy.malloc import MODES as MALLOC_MODES
from mbv3.deploy.malloc import tune_allocator
from ._command import command, write_json

# options of the command that are not settings of run_benchmark
_SUITE_ONLY = ('suite', 'skip', 'out', 'malloc')


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
    parser.add_argument('--onnx-threads', type=int, default=2,
                        help='onnxruntime intra-op threads (default 2)')
    parser.add_argument('--suite', action='store_true',
                        help='the deployment benchmark (mbv3.deploy.benchmark.run_suite): '
                        'every CPU inference path of mbv3, torchvision and '
                        'timm at batch 1 and 32, under the default and then '
                        'the tuned allocator; --threads (default 2) for '
                        'every runtime, --iters/--rounds/--warmup at batch '
                        '1 (batch 32: --iters // 10 calls per round)')
    parser.add_argument('--skip', nargs='+', default=(), metavar='PATH',
                        help='suite paths to leave out, e.g. "mbv3 compile"')
    parser.add_argument('--out', help='write the suite results to this '
                        'JSON file')
    parser.add_argument('--malloc', choices=MALLOC_MODES, default=None,
                        help='CPU allocator (mbv3.deploy.malloc): tuned or '
                        'default; default: the MBV3_MALLOC environment '
                        'variable, else tuned. --suite times both')
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


def run_deploy_suite(args, argv) -> dict:
    """``--suite``: :func:`mbv3.deploy.benchmark.run_suite` on mbv3's
    classifier, printed and optionally written to ``--out``."""
    from mbv3.deploy.benchmark import format_suite, mbv3_model, run_suite
    counts = {1: (args.iters, args.rounds, args.warmup),
              32: (max(1, args.iters // 10), args.rounds, 1)}
    with tempfile.TemporaryDirectory() as tmpdir:
        report = run_suite(mbv3_model(args.arch).eval(), args.size,
                           args.threads or 2, counts, tmpdir, args.skip)
    report['command'] = ' '.join(['tools/analysis_tools/benchmark.py', *(
        sys.argv[1:] if argv is None else argv)])
    print(format_suite(report))
    write_json(args.out, report)
    return report


@command
def main(argv=None) -> Dict[str, dict]:
    """Parse ``argv``, time the candidates, print and return the results
    (see :func:`mbv3.deploy.benchmark.run_benchmark`); with ``--suite``,
    the report of :func:`run_deploy_suite`."""
    args = parse_args(argv)
    if args.suite:
        return run_deploy_suite(args, argv)
    print(f'allocator: {tune_allocator(args.malloc)}')
    settings = {key: value for key, value in vars(args).items()
                if key not in _SUITE_ONLY}
    results = run_benchmark(**settings)
    print(format_results(results, **settings))
    return results


if __name__ == '__main__':
    from mbv3.cli import run
    run('benchmark')
