"""Where a training iteration's time goes, for a config's real pipeline,
model, optimizer and hooks.

    python tools/analysis_tools/benchmark_train.py \
        configs/mobilenet_v3/mobilenet-v3-small_digits.py [--device cuda] \
        [--out benchmark_train.json]

Prints the mean split of an iteration (data wait, preprocessor, forward,
backward, optimizer, hooks, other; ms), the end-to-end img/s next to the
model-only img/s (forward, backward and optimizer step on a synthetic
batch on the device), the loop's fixed cost with a one-parameter model of
the same interface, and the main process's minor page faults per
iteration under the allocator ``tools/train.py`` sets up
(:mod:`mbv3.deploy.malloc`), all from one run
(:func:`mbv3.apis.benchmark_train.benchmark_training`). ``--out`` writes
them as JSON, with the machine they were measured on.
"""
import argparse

import torch
from mmengine.config import DictAction
from mmengine.registry import init_default_scope

from mbv3.apis.benchmark_train import PHASES, benchmark_training
from mbv3.deploy.malloc import tune_allocator
from mbv3.engine.hooks.results import machine
from ._command import add_command_args, add_config_arg, command, write_json


def format_report(results: dict) -> str:
    """The printed report of :func:`benchmark_training`'s results."""
    fixed = results['fixed_cost']
    lines = [f"{results['config']} on {results['device']}, batch "
             f"{results['batch_size']}, mean of {results['iters']} "
             f"iterations ({results['optimizer_groups']} optimizer "
             'parameter groups)',
             f"{'ms per iteration':<17}{'model':>9}{'trivial':>9}"]
    for phase in PHASES:
        lines.append(f'  {phase:<15}{results["split_ms"][phase]:9.2f}'
                     f'{fixed["split_ms"][phase]:9.2f}')
    lines += [f"  {'iteration':<15}{results['iteration_ms']:9.2f}"
              f"{fixed['iteration_ms']:9.2f}",
              f"fixed cost outside the data wait: "
              f"{fixed['outside_data_wait_ms']:.2f} ms per iteration",
              f"end to end {results['end_to_end_img_per_s']:.1f} img/s, "
              f"model only {results['model_only_img_per_s']:.1f} img/s"]
    faults = f"{results['page_faults_per_iter']:.0f} minor page faults " \
        'per iteration'
    if 'allocator' in results:
        faults += f"; allocator: {results['allocator']}"
    lines.append(faults)
    return '\n'.join(lines)


@command
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_config_arg(parser)
    parser.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    parser.add_argument('--iters', type=int, default=20,
                        help='timed iterations per measurement')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed iterations first')
    parser.add_argument('--threads', type=int, default=None,
                        help='CPU threads for torch (default: torch\'s)')
    parser.add_argument('--out', metavar='JSON', help='write the results')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='override config keys, '
                        'key=value (dotted)')
    add_command_args(parser)
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    init_default_scope('mbv3')
    allocator = tune_allocator()
    results = benchmark_training(args.config, device=args.device,
                                 warmup=args.warmup, iters=args.iters,
                                 cfg_options=dict(log_level='WARNING',
                                                  **args.cfg_options))
    results['machine'] = machine()
    results['allocator'] = allocator
    results['threads'] = torch.get_num_threads()
    print(format_report(results))
    write_json(args.out, results)
    return results


if __name__ == '__main__':
    from mbv3.cli import run
    run('benchmark_train')
