"""Training curves from mmengine's ``vis_data/scalars.json``."""
import glob
import json
import os.path as osp
from typing import Dict, List, Sequence, Tuple

from .figure import new_figure, save_figure

IGNORED = ('lr', 'base_lr', 'time', 'data_time', 'epoch', 'iter', 'step',
           'memory')


def find_scalars(work_dir: str) -> List[str]:
    """The ``scalars.json`` of every run in a work dir, oldest first (a
    resumed run writes a new timestamped folder).

    Raises:
        FileNotFoundError: If there is none.
    """
    found = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not found:
        raise FileNotFoundError(f'no <timestamp>/vis_data/scalars.json in '
                                f'work dir {work_dir!r}; pass a work dir of '
                                'tools/train.py or a scalars.json')
    return found


def read_scalars(paths: Sequence[str]) -> Tuple[Dict, Dict]:
    """Split the records of ``scalars.json`` files into training and
    validation series.

    Training records carry ``loss`` and ``step`` = iteration; validation
    records carry no ``loss`` and ``step`` = epoch. A later file overrides
    an earlier one at the same step (a resumed run).

    Returns:
        tuple[dict, dict]: ``{name: {step: value}}`` for training and for
        validation scalars (``lr``, times and counters left out).
    """
    train, val = {}, {}
    for path in paths:
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                record = json.loads(line)
                series = train if 'loss' in record else val
                for key, value in record.items():
                    if key in IGNORED or not isinstance(value, (int, float)):
                        continue
                    series.setdefault(key, {})[record['step']] = value
    return train, val


def plot_curves(scalars_json_path, out_png: str, size=(1000, 400),
                title: str = '') -> str:
    """Plot training losses against iterations and validation metrics
    against epochs, side by side.

    Args:
        scalars_json_path (str | Sequence[str]): A ``scalars.json``, a
            list of them (runs in order), or a work dir (all its runs).
        out_png (str): Output path (``.png``).
        size (tuple[int, int]): ``(width, height)`` in pixels.
        title (str): Figure title.

    Returns:
        str: ``out_png``.

    Raises:
        FileNotFoundError: If a path does not exist.
        ValueError: If the files hold no training loss.
    """
    if isinstance(scalars_json_path, (list, tuple)):
        paths = list(scalars_json_path)
    elif osp.isdir(scalars_json_path):
        paths = find_scalars(scalars_json_path)
    else:
        paths = [scalars_json_path]
    for path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'scalars file {path!r} does not exist')
    train, val = read_scalars(paths)
    if not train:
        raise ValueError(f'no training loss in {paths!r}')
    fig = new_figure(size)
    axes = fig.subplots(1, 2 if val else 1, squeeze=False)[0]
    for name, points in sorted(train.items()):
        steps = sorted(points)
        axes[0].plot(steps, [points[s] for s in steps], label=name)
    axes[0].set_xlabel('iteration')
    axes[0].set_ylabel('loss')
    axes[0].legend(fontsize=8)
    axes[0].grid(alpha=0.3)
    if val:
        for name, points in sorted(val.items()):
            steps = sorted(points)
            axes[1].plot(steps, [points[s] for s in steps], marker='o',
                         label=name)
        axes[1].set_xlabel('epoch')
        axes[1].set_ylabel('validation metric')
        axes[1].legend(fontsize=8)
        axes[1].grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out_png)
