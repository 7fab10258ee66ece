"""What ``tools/test.py`` does, as importable functions."""
import argparse
import json
import os
import os.path as osp

from mmengine.config import DictAction
from mmengine.dist import is_main_process

from mbv3.datasets import skip_bad_files

from .command import add_command_args, report_skipped
from .data_root import add_data_root_arg, resolve_num_classes
from .train import build_train_config, init_dist_cpu_safe


def parse_test_args(argv=None) -> argparse.Namespace:
    """Command line of ``tools/test.py``."""
    parser = argparse.ArgumentParser(
        description='Evaluate a checkpoint with an mbv3 config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the logs go')
    add_data_root_arg(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'],
                        default='none', help='job launcher')
    parser.add_argument('--confusion-matrix', metavar='OUT.png',
                        help='also write the confusion matrix as a PNG')
    parser.add_argument('--size', type=int, nargs=2, default=[600, 600],
                        metavar=('W', 'H'),
                        help='pixel size of the confusion matrix PNG')
    parser.add_argument('--out', metavar='OUT.json',
                        help='also write the metrics and the skipped files '
                        'to this JSON file')
    add_command_args(parser, batch=True)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def test(argv=None) -> dict:
    """Evaluate ``checkpoint`` on the config's test split.

    With ``--confusion-matrix OUT.png`` a :class:`ConfusionMatrix` metric
    joins the test evaluator and its matrix is drawn to ``OUT.png``.
    Unreadable image files of a folder data set are skipped
    (:func:`~mbv3.datasets.skip_bad_files`, :class:`SkipBadFilesTestLoop`):
    the metrics cover every other image, and the skipped files are listed
    at the end and in ``--out``.

    Returns:
        dict: The metrics, e.g. ``{'accuracy/top1': 98.3, ...}`` (plus
        ``confusion_matrix/result``, a ``(K, K)`` tensor, when asked).

    Raises:
        FileNotFoundError: If the checkpoint does not exist.
        ValueError: If ``--confusion-matrix`` does not end in ``.png``.
        SkippedFilesError: After reporting the metrics, when files were
            skipped and ``--allow-skipped`` not given.
    """
    from mmengine.runner import Runner
    args = parse_test_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not '
                                'exist')
    train_args = argparse.Namespace(
        config=args.config, work_dir=args.work_dir, resume=None, amp=False,
        cfg_options=args.cfg_options, launcher=args.launcher,
        data_root=args.data_root)
    # a split of a train/-only folder is the one training recorded
    cfg = build_train_config(train_args, osp.dirname(args.checkpoint),
                             make_split=False)
    resolve_num_classes(cfg)
    cfg.load_from = args.checkpoint
    if args.confusion_matrix is not None:
        add_confusion_matrix(cfg, args.confusion_matrix)
    skip_bad_files(cfg.test_dataloader)
    cfg.test_cfg = dict(cfg.get('test_cfg') or {},
                        type='mbv3.SkipBadFilesTestLoop')
    init_dist_cpu_safe(args.launcher)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    skipped = runner.test_loop.skipped
    if args.confusion_matrix is not None and is_main_process():
        from mbv3.visualization import plot_confusion_matrix
        classes = (runner.test_dataloader.dataset.metainfo or {}).get(
            'classes')
        plot_confusion_matrix(metrics['confusion_matrix/result'].numpy(),
                              args.confusion_matrix, classes=classes,
                              size=tuple(args.size))
        runner.logger.info(f'confusion matrix written to '
                           f'{args.confusion_matrix}')
    if args.out is not None and is_main_process():
        save_metrics(metrics, skipped, args.out)
    report_skipped(skipped, args.allow_skipped, args.out)
    return metrics


def save_metrics(metrics: dict, skipped, out: str) -> None:
    """Write the scalar metrics and the skipped files
    (``dict(image, error)``) as JSON: ``{"metrics": {...}, "skipped":
    [...]}``."""
    scalars = {k: float(v) for k, v in metrics.items()
               if not hasattr(v, 'shape') or not v.shape}
    if osp.dirname(out):
        os.makedirs(osp.dirname(out), exist_ok=True)
    with open(out, 'w', encoding='utf-8') as f:
        json.dump(dict(metrics=scalars, skipped=list(skipped)), f, indent=2)


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
