"""Write the model zoo table (params, MACs, CPU latency, outputs).

    python tools/analysis_tools/model_zoo.py --out docs/model_zoo.md
"""
import argparse
import sys

import torch

from mbv3.reports.model_zoo import (DEFAULT_VARIANTS, format_table, machine,
                                  zoo_rows)
from ._command import command


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', help='write the Markdown page here '
                        '(default: print it)')
    parser.add_argument('--variants', nargs='+', metavar='ARCH:WIDTH',
                        help='e.g. small:1.0 large:0.75 (default: all '
                        f'{len(DEFAULT_VARIANTS)} variants of the zoo)')
    parser.add_argument('--input-size', type=int, default=224,
                        help='square input side in pixels (default 224)')
    parser.add_argument('--rounds', type=int, default=20,
                        help='timed forwards per variant (default 20)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads while timing (default 1)')
    return parser.parse_args(argv)


def parse_variant(text: str):
    arch, sep, width = text.partition(':')
    try:
        return arch, float(width) if sep else 1.0
    except ValueError:
        raise ValueError(f'--variants entries must be ARCH or ARCH:WIDTH, '
                         f'got {text!r}') from None


@command
def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    variants = [parse_variant(v) for v in args.variants] \
        if args.variants else DEFAULT_VARIANTS
    rows = zoo_rows(variants, args.input_size, args.rounds)
    timed_on = machine()
    command_line = 'python tools/analysis_tools/model_zoo.py ' + ' '.join(
        sys.argv[1:] if argv is None else argv)
    page = format_table(rows, args.input_size, command_line.strip(),
                        timed_on)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write(page)
        print(f'wrote {args.out}')
    else:
        print(page)


if __name__ == '__main__':
    from mbv3.cli import run
    run('model_zoo')
