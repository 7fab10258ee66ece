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


def _is_loss(name: str) -> bool:
    """mmengine logs a model's losses under names holding ``loss``."""
    return 'loss' in name


def _draw(ax, series: Dict, xlabel: str, ylabel: str, **style) -> None:
    for name, points in sorted(series.items()):
        steps = sorted(points)
        ax.plot(steps, [points[s] for s in steps], label=name, **style)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


def plot_curves(scalars_json_path, out_png: str, size=(1000, 400),
                title: str = '') -> str:
    """Plot training losses against iterations, each other training scalar
    (``img_per_s``...) on its own axes against iterations, and validation
    metrics against epochs, side by side.

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
    losses = {k: v for k, v in train.items() if _is_loss(k)}
    if not losses:
        raise ValueError(f'no training loss in {paths!r}')
    others = sorted(k for k in train if not _is_loss(k))
    fig = new_figure(size)
    axes = iter(fig.subplots(1, 1 + len(others) + bool(val),
                             squeeze=False)[0])
    _draw(next(axes), losses, 'iteration', 'loss')
    for name in others:
        _draw(next(axes), {name: train[name]}, 'iteration', name)
    if val:
        _draw(next(axes), val, 'epoch', 'validation metric', marker='o')
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out_png)
