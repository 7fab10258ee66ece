"""Evaluate a checkpoint on a config's test split (``tools/test.py``,
``mbv3-test``).

    python -m mbv3.cli.test CONFIG CHECKPOINT [--confusion-matrix OUT.png]
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction
from mmengine.dist import is_main_process

from mbv3.apis.test import add_confusion_matrix, save_metrics
from mbv3.datasets import skip_bad_files
from mbv3.apis.train import build_train_config, init_dist_and_prepare_data
from mbv3.cli.train import LAUNCHERS
from mbv3.utils.deployment_files import check_not_deployment_file
from ._command import (add_command_args, add_config_arg, add_data_root_arg,
                       add_max_image_pixels_arg,
                       command, report_skipped)


def parse_args(argv=None) -> argparse.Namespace:
    """Command line of ``mbv3-test``."""
    parser = argparse.ArgumentParser(
        description='Evaluate a checkpoint with an mbv3 config')
    add_config_arg(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the logs go')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='job launcher')
    parser.add_argument('--confusion-matrix', metavar='OUT.png',
                        help='also write the confusion matrix as a PNG')
    parser.add_argument('--size', type=int, nargs=2, default=[600, 600],
                        metavar=('W', 'H'),
                        help='pixel size of the confusion matrix PNG')
    parser.add_argument('--partial-load', action='store_true',
                        help='load the checkpoint tensors that fit the model '
                        'and keep the initial values of the others (default: '
                        'stop when any key or shape differs)')
    parser.add_argument('--out', metavar='OUT.json',
                        help='also write the metrics and the skipped files '
                        'to this JSON file')
    add_data_root_arg(parser)
    add_max_image_pixels_arg(parser)
    add_command_args(parser, batch=True)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


@command
def main(argv=None) -> dict:
    """Evaluate ``checkpoint`` on the config's test split.

    With ``--confusion-matrix OUT.png`` a :class:`ConfusionMatrix` metric
    joins the test evaluator and its matrix is drawn to ``OUT.png``.
    The data set a recipe declares (``data_preparation``, e.g. the digits)
    is prepared first when its folder is missing, as ``mbv3-train`` does.
    With ``--data-root DIR`` the data sets read ``DIR`` (a folder without
    ``val/`` is evaluated on the split recorded next to the checkpoint by
    its training run). Unreadable image files of a folder data set are
    skipped (:func:`~mbv3.datasets.skip_bad_files`,
    :class:`~mbv3.engine.SkipBadFilesTestLoop`): the metrics cover every
    other image, and the skipped files are listed at the end and in
    ``--out``.

    Returns:
        dict: The metrics, e.g. ``{'accuracy/top1': 98.3, ...}`` (plus
        ``confusion_matrix/result``, a ``(K, K)`` tensor, when asked).

    Raises:
        FileNotFoundError: If the checkpoint does not exist.
        CheckpointMismatchError: If the checkpoint's tensors do not fit the
            model (another arch, class count, missing or unexpected keys)
            and ``--partial-load`` is not given.
        ValueError: If ``--confusion-matrix`` does not end in ``.png``.
        SkippedFilesError: After reporting the metrics, when files were
            skipped and ``--allow-skipped`` not given.
    """
    from mbv3.engine.runner import ConsoleRunner
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not '
                                'exist')
    check_not_deployment_file(args.checkpoint)
    cfg = build_train_config(args.config, work_dir=args.work_dir,
                             cfg_options=args.cfg_options,
                             launcher=args.launcher,
                             data_root=args.data_root,
                             split_dir=osp.dirname(args.checkpoint),
                             make_split=False)
    cfg.load_from = args.checkpoint
    if not args.partial_load:
        cfg.custom_hooks = [*cfg.get('custom_hooks', []),
                            dict(type='mbv3.CheckpointFitHook',
                                 checkpoint=args.checkpoint)]
    if args.confusion_matrix is not None:
        add_confusion_matrix(cfg, args.confusion_matrix)
    skip_bad_files(cfg.test_dataloader)
    cfg.test_cfg = dict(cfg.get('test_cfg') or {},
                        type='mbv3.SkipBadFilesTestLoop')
    init_dist_and_prepare_data(cfg, missing_only=True)
    runner = ConsoleRunner.from_cfg(cfg)
    runner.logger.info(runner.banner())
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


if __name__ == '__main__':
    from mbv3.cli import run
    run('test')
