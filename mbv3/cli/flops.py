"""Parameters, MACs, activations and non-linearity ops of a config's model
(``tools/analysis_tools/get_flops.py``, ``mbv3-flops``).

    python -m mbv3.cli.flops CONFIG [--shape H W]
"""
import argparse

from mbv3.apis.model import init_model
from mbv3.models.input_spec import input_spec
from mbv3.utils.flops import complexity, format_complexity
from ._command import add_command_args, add_config_arg, command


def parse_args(argv=None) -> argparse.Namespace:
    """Command line of ``mbv3-flops``."""
    parser = argparse.ArgumentParser(
        description="Count a config model's parameters, MACs, activations "
        'and h-swish / h-sigmoid / ReLU / SE ops, per layer.')
    add_config_arg(parser)
    parser.add_argument('--shape', type=int, nargs=2, default=None,
                        metavar=('H', 'W'), help='input size in pixels '
                        "(default: the config's test pipeline size)")
    parser.add_argument('--depth', type=int, default=2,
                        help='module-name depth of the table rows')
    add_command_args(parser)
    return parser.parse_args(argv)


@command
def main(argv=None) -> dict:
    """Print the per-layer table and the totals; return the totals."""
    args = parse_args(argv)
    model = init_model(args.config)
    spec = input_spec(model, args.shape)
    totals, rows = complexity(model, spec.shape, args.depth)
    print(format_complexity(totals, rows))
    nonlinear = sum(totals[c] for c in ('hardswish', 'hardsigmoid', 'relu'))
    print(f"input {spec.shape}: params "
          f"{totals['params'] / 1e6:.3f}M, MACs {totals['macs'] / 1e6:.1f}M, "
          f"activations {totals['activations'] / 1e6:.3f}M, non-linearity "
          f"ops {nonlinear / 1e6:.3f}M, SE ops {totals['se'] / 1e6:.3f}M")
    return totals


if __name__ == '__main__':
    from mbv3.cli import run
    run('flops')
