"""Print the out_indices table (markdown), or rewrite it in place.

    python tools/analysis_tools/out_indices_table.py
    python tools/analysis_tools/out_indices_table.py --update docs/backbone_api.md
"""
import argparse

from mbv3.reports.generated import rewrite_section
from mbv3.reports.out_indices_table import NAME, PAGE, out_indices_markdown
from ._command import command


@command
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--update', metavar='PAGE',
                        help='replace the generated section of this file '
                        f'({PAGE})')
    args = parser.parse_args(argv)
    table = out_indices_markdown()
    if args.update is None:
        print(table)
        return
    rewrite_section(args.update, NAME, table)


if __name__ == '__main__':
    from mbv3.cli import run
    run('out_indices_table')
