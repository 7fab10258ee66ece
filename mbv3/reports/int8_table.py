"""The int8 accuracy table of ``docs/deployment.md``, written from the
results of :func:`mbv3.deploy.accuracy.int8_accuracy` (per data set, per
path)."""
from typing import Dict

from mbv3.deploy.accuracy import MIN_AGREEMENT, PATHS, max_change_for
from .generated import begin_marker, end_marker

NAME = 'int8-accuracy'
BEGIN = begin_marker(NAME, 'tools/analysis_tools/int8_accuracy.py --doc')
END = end_marker(NAME)


def int8_table(results: Dict[str, dict]) -> str:
    """A markdown table between :data:`BEGIN` and :data:`END`: per path and
    data set, the images evaluated, top-1 fp32 -> int8, the change,
    agreement with fp32, mean logit cosine similarity and the verdict
    against the targets (agreement >= 99%, change within 0.5 points, QAT
    0.3)."""
    lines = [BEGIN, '',
             '| Path | Data set | Images | Top-1 fp32 -> int8 (%) | Change '
             '(points) | Agreement with fp32 (%) | Logit cosine | Target |',
             '|---|---|---|---|---|---|---|---|']
    for path in PATHS:
        for dataset, rows in results.items():
            row = rows.get(path)
            if row is None:
                continue
            if 'skipped' in row:
                lines.append(f"| {path} | {dataset} | - | - | - | - | - | "
                             f"skipped: {row['skipped']} |")
                continue
            target = (f'agreement >= {MIN_AGREEMENT:g}%, change within '
                      f'±{max_change_for(path):g}: {row["verdict"]}')
            lines.append(
                f"| {path} | {dataset} | {row['images']} | "
                f"{row['fp32_top1']:.2f} -> {row['int8_top1']:.2f} | "
                f"{row['change']:+.2f} | {row['agreement']:.2f} | "
                f"{row['cosine']:.4f} | {target} |")
    lines += ['', END]
    return '\n'.join(lines)
