"""Every int8 path against fp32, per data set: images evaluated, top-1,
agreement with fp32, logit cosine and the target verdict
(``tools/analysis_tools/int8_accuracy.py``, ``mbv3-int8-accuracy``).

    python -m mbv3.cli.int8_accuracy --model digits CONFIG CHECKPOINT \
        [--model textures CONFIG CHECKPOINT] \
        [--qat digits QAT_CONFIG QAT_CHECKPOINT] [--out int8_accuracy.json] \
        [--doc docs/deployment.md]
"""
import argparse
import tempfile

from mbv3.apis.model import init_model
from mbv3.deploy.accuracy import PATHS, int8_accuracy
from mbv3.reports.generated import read_section, replace_section
from mbv3.reports.int8_table import NAME, int8_table
from mbv3.deploy.calibration import CALIB_IMAGES
from mbv3.deploy.runtimes import RUNTIMES
from mbv3.utils.checks import check_int
from ._command import add_command_args, command, write_json


def parse_args(argv=None) -> argparse.Namespace:
    """Command line of ``mbv3-int8-accuracy``."""
    parser = argparse.ArgumentParser(
        description='Export each model fp32 and int8 to every runtime and '
        'print the top-1 change on its val split.')
    parser.add_argument('--model', nargs=3, action='append', required=True,
                        metavar=('NAME', 'CONFIG', 'CHECKPOINT'),
                        help='a data set name, its config and a trained '
                        'checkpoint (repeatable)')
    parser.add_argument('--qat', nargs=3, action='append', default=[],
                        metavar=('NAME', 'CONFIG', 'CHECKPOINT'),
                        help='the quantization-aware fine-tune of the '
                        '--model of that name (its config and checkpoint), '
                        'converted to int8 (repeatable)')
    parser.add_argument('--runtimes', nargs='+', choices=sorted(RUNTIMES),
                        default=sorted(RUNTIMES))
    parser.add_argument('--calib-images', type=int, default=CALIB_IMAGES)
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument('--doc', help='replace the int8 table (its '
                        'generated section) in this markdown file')
    add_command_args(parser)
    return parser.parse_args(argv)


def format_accuracy(results: dict) -> str:
    """One line per data set and path: images, fp32 and int8 top-1, change,
    agreement, cosine and verdict."""
    lines = []
    for name, rows in results.items():
        lines.append(f"{name}: eager top-1 {rows['eager']['top1']:.2f}% "
                     f"on {rows['eager']['images']} images (val and its "
                     f"crops)")
        for runtime in PATHS:
            row = rows.get(runtime)
            if row is None:
                continue
            if 'skipped' in row:
                lines.append(f"  {runtime}: skipped ({row['skipped']})")
                continue
            lines.append(f"  {runtime}: {row['images']} images, fp32 "
                         f"{row['fp32_top1']:.2f}% -> int8 "
                         f"{row['int8_top1']:.2f}% ({row['change']:+.2f} "
                         f"points), agreement {row['agreement']:.2f}%, "
                         f"cosine {row['cosine']:.4f}: {row['verdict']}")
    return '\n'.join(lines)


def _check_names(args) -> None:
    for option, rows in (('--model', args.model), ('--qat', args.qat)):
        names = [name for name, _, _ in rows]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f'{option} names {repeated} more than once; '
                             f'each data set is one result: give each '
                             f'{option} its own name')


@command
def main(argv=None) -> dict:
    """Measure, print and return ``{name: rows}`` of
    :func:`mbv3.deploy.accuracy.int8_accuracy`; ``--out`` writes it."""
    args = parse_args(argv)
    check_int('--calib-images', args.calib_images, low=1)
    _check_names(args)
    names = [name for name, _, _ in args.model]
    qat = {name: (config, ckpt) for name, config, ckpt in args.qat}
    unknown = sorted(set(qat) - set(names))
    if unknown:
        raise ValueError(f'--qat names {unknown} have no --model of the same '
                         f'name; the --model names are {names}')
    if args.doc:  # before any work: the file and its markers exist
        with open(args.doc, encoding='utf-8') as f:
            read_section(f.read(), NAME)
    results = {}
    for name, config, checkpoint in args.model:
        qat_model = init_model(*qat[name]) if name in qat else None
        with tempfile.TemporaryDirectory() as workdir:
            results[name] = int8_accuracy(init_model(config, checkpoint),
                                          workdir, args.runtimes,
                                          args.calib_images, qat_model)
    print(format_accuracy(results))
    write_json(args.out, results)
    if args.doc:
        with open(args.doc, encoding='utf-8') as f:
            text = f.read()
        with open(args.doc, 'w', encoding='utf-8') as f:
            f.write(replace_section(text, NAME, int8_table(results)))
    return results


if __name__ == '__main__':
    from mbv3.cli import run
    run('int8_accuracy')
