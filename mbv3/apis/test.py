"""What ``tools/test.py`` does, as importable functions."""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction

from .train import build_train_config, init_dist_cpu_safe


def parse_test_args(argv=None) -> argparse.Namespace:
    """Command line of ``tools/test.py``."""
    parser = argparse.ArgumentParser(
        description='Evaluate a checkpoint with an mbv3 config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the logs go')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def test(argv=None) -> dict:
    """Evaluate ``checkpoint`` on the config's test split.

    Returns:
        dict: The metrics, e.g. ``{'accuracy/top1': 98.3, ...}``.

    Raises:
        FileNotFoundError: If the checkpoint does not exist.
    """
    from mmengine.runner import Runner
    args = parse_test_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not '
                                'exist')
    train_args = argparse.Namespace(
        config=args.config, work_dir=args.work_dir, resume=None, amp=False,
        cfg_options=args.cfg_options, launcher=args.launcher)
    cfg = build_train_config(train_args)
    cfg.load_from = args.checkpoint
    init_dist_cpu_safe(args.launcher)
    runner = Runner.from_cfg(cfg)
    return runner.test()
