"""Check or rewrite the figures README.md and docs/*.md quote.

    python tools/analysis_tools/doc_figures.py            # exit 1 if stale
    python tools/analysis_tools/doc_figures.py --update
    python tools/analysis_tools/doc_figures.py \
        --record-digits work_dirs/mobilenet-v3-small_digits/results.json \
        --update

``--record-digits`` keeps a digits run's ``results.json`` (written by its
``ResultsHook``) as ``docs/results/digits.json``; the reliability tests
write ``docs/results/reliability.json`` (``python -m pytest -m
reliability --reliability-json=docs/results/reliability.json``).
"""
import argparse
import os.path as osp
import shutil

from mbv3.reports.doc_figures import DIGITS_JSON, render, stale
from ._command import command

# the checkout this module belongs to (a development command)
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@command
def main(argv=None) -> None:
    """Check (default), record or rewrite the generated sections.

    Raises:
        RuntimeError: Naming the stale files, when a checked file is stale.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--record-digits', metavar='RESULTS_JSON',
                        help=f'copy a digits run\'s results to {DIGITS_JSON}')
    parser.add_argument('--update', action='store_true',
                        help='rewrite the generated sections')
    args = parser.parse_args(argv)
    if args.record_digits:
        shutil.copyfile(args.record_digits, osp.join(REPO, DIGITS_JSON))
    if args.update:
        for path, text in render(REPO).items():
            with open(osp.join(REPO, path), 'w', encoding='utf-8') as f:
                f.write(text)
        return
    files = stale(REPO)
    if files:
        raise RuntimeError(f'generated figures are stale in {files}; run '
                           'python tools/analysis_tools/doc_figures.py '
                           '--update')


if __name__ == '__main__':
    from mbv3.cli import run
    run('doc_figures')
