"""Testing as library functions (the command line is :mod:`mbv3.cli.test`)."""
import json
import os
import os.path as osp

from mbv3.datasets.folder import display_path


def add_confusion_matrix(cfg, out_png: str) -> None:
    """Append a ``ConfusionMatrix`` metric to ``cfg.test_evaluator``.

    Raises:
        ValueError: If ``out_png`` does not end in ``.png``.
    """
    if not out_png.lower().endswith('.png'):
        raise ValueError(f'--confusion-matrix must end in .png, got '
                         f'{out_png!r}')
    evaluator = cfg.test_evaluator
    metrics = list(evaluator) if isinstance(evaluator, (list, tuple)) \
        else [evaluator]
    cfg.test_evaluator = metrics + [dict(type='ConfusionMatrix')]


def save_metrics(metrics: dict, skipped, out: str) -> None:
    """Write the scalar metrics and the skipped files
    (``dict(image, error)``, ``image`` as
    :func:`~mbv3.datasets.folder.display_path`) as JSON: ``{"metrics":
    {...}, "skipped": [...]}``."""
    scalars = {k: float(v) for k, v in metrics.items()
               if not hasattr(v, 'shape') or not v.shape}
    if osp.dirname(out):
        os.makedirs(osp.dirname(out), exist_ok=True)
    with open(out, 'w', encoding='utf-8') as f:
        json.dump(dict(metrics=scalars, skipped=[
            dict(item, image=display_path(item['image']))
            for item in skipped]), f, indent=2)
