"""Plot loss and validation accuracy curves of a training run as a PNG
(``tools/visualization/vis_curves.py``, ``mbv3-vis-curves``).

    python -m mbv3.cli.vis_curves WORK_DIR|scalars.json OUT.png
        [--size 1000 400]
"""
import argparse

from mbv3.visualization import plot_curves
from ._command import SIZE_HELP, command


@command
def main(argv=None) -> str:
    """Parse ``argv`` and draw the curves. Returns the PNG path."""
    parser = argparse.ArgumentParser(
        description='Loss and validation curves of a training run')
    parser.add_argument('scalars', help='work dir of mbv3-train (all its '
                        'runs) or a vis_data/scalars.json file')
    parser.add_argument('out', help='output .png')
    parser.add_argument('--size', type=int, nargs=2, default=[1000, 400],
                        metavar=('W', 'H'), help=SIZE_HELP)
    parser.add_argument('--title', default='', help='figure title')
    args = parser.parse_args(argv)
    out = plot_curves(args.scalars, args.out, size=tuple(args.size),
                      title=args.title)
    print(f'wrote {out}')
    return out


if __name__ == '__main__':
    from mbv3.cli import run
    run('vis_curves')
