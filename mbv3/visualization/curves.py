"""Loss and accuracy curves of a run, from mmengine's ``scalars.json``."""
import json
from typing import List, Sequence

LOSS_KEY = 'loss'
ACCURACY_KEYS = ('accuracy/top1', 'accuracy/top5')


def load_scalars(path: str) -> List[dict]:
    """Read the records ``LocalVisBackend`` writes, one JSON dict a line.

    Args:
        path (str): ``<work_dir>/<timestamp>/vis_data/scalars.json``.

    Returns:
        list[dict]: The records in file order; training records carry
        ``iter`` (global iteration) and ``loss``, validation records carry
        ``step`` (epoch or iteration) and ``accuracy/top1``.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
    """
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def plot_curves(records: Sequence[dict], out_file: str,
                title: str = '') -> str:
    """Draw training loss (against iteration) and validation accuracy
    (against the validation step) side by side and save a PNG.

    Args:
        records (Sequence[dict]): As returned by :func:`load_scalars`.
        out_file (str): Output path, e.g. ``<work_dir>/curves.png``.
        title (str): Figure title.

    Returns:
        str: ``out_file``.

    Raises:
        ValueError: If ``records`` hold no training loss.
        ImportError: If matplotlib is not installed.
    """
    train = [r for r in records if LOSS_KEY in r and 'iter' in r]
    if not train:
        raise ValueError(f'records hold no {LOSS_KEY!r} with an iteration; '
                         f'got keys {sorted({k for r in records for k in r})}')
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    loss_ax.plot([r['iter'] for r in train], [r[LOSS_KEY] for r in train])
    loss_ax.set(xlabel='iteration', ylabel='training loss')
    for key in ACCURACY_KEYS:
        val = [r for r in records if key in r]
        if val:
            acc_ax.plot([r['step'] for r in val], [r[key] for r in val],
                        marker='o', label=key)
    acc_ax.set(xlabel='validation step (epoch or iteration)',
               ylabel='accuracy (%)')
    if acc_ax.lines:
        acc_ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return out_file
