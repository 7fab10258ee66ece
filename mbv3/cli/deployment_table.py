"""Print the deployment table (markdown) from the benchmark and
int8 accuracy JSONs, or rewrite it in place
(``tools/analysis_tools/deployment_table.py``, ``mbv3-deployment-table``).

    python tools/analysis_tools/deployment_table.py
    python tools/analysis_tools/deployment_table.py --update docs/deployment.md
"""
import argparse
import json

from mbv3.reports.deployment_table import (ACCURACY_JSON, BENCHMARK_JSON,
                                          NAME, PAGE, deployment_markdown)
from mbv3.reports.generated import rewrite_section
from ._command import command


def parse_args(argv=None) -> argparse.Namespace:
    """Command line of ``mbv3-deployment-table``."""
    parser = argparse.ArgumentParser(
        description='Write the deployment table from the benchmark '
        '(benchmark.py --suite --out) and int8 accuracy JSONs.')
    parser.add_argument('--benchmark', default=BENCHMARK_JSON,
                        help='benchmark.py --suite --out JSON (default '
                        f'{BENCHMARK_JSON})')
    parser.add_argument('--accuracy', default=ACCURACY_JSON,
                        help='int8_accuracy.py --out JSON (default '
                        f'{ACCURACY_JSON})')
    parser.add_argument('--update', metavar='PAGE',
                        help='replace the generated section of this file '
                        f'({PAGE})')
    return parser.parse_args(argv)


@command
def main(argv=None) -> str:
    """Print the table, or with ``--update`` write it into the file."""
    args = parse_args(argv)
    with open(args.benchmark) as f:
        bench = json.load(f)
    with open(args.accuracy) as f:
        accuracy = json.load(f)
    table = deployment_markdown(bench, accuracy)
    if args.update is None:
        print(table)
        return table
    rewrite_section(args.update, NAME, table)
    return table


if __name__ == '__main__':
    from mbv3.cli import run
    run('deployment_table')
