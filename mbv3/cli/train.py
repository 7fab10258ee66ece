"""Train a model from an mbv3 config (``tools/train.py``, ``mbv3-train``).

    python -m mbv3.cli.train configs/mobilenet_v3/mobilenet-v3-small_digits.py
"""
import argparse
import os

from mmengine.config import Config, DictAction

from mbv3.apis.train import build_train_config, run_training
from mbv3.deploy.malloc import tune_allocator
from ._command import (add_command_args, add_config_arg, add_data_root_arg,
                       add_max_image_pixels_arg,
                       command)

LAUNCHERS = ['none', 'pytorch', 'slurm']


def parse_args(argv=None) -> argparse.Namespace:
    """Command line of ``mbv3-train``."""
    parser = argparse.ArgumentParser(
        description='Train a model with an mbv3 config')
    add_config_arg(parser)
    parser.add_argument('--work-dir', help='where logs and checkpoints go; '
                        'default ./work_dirs/<config name>')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto', default=None,
        help='resume from this checkpoint, or with no value from the '
        'latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: bf16 autocast (CPU or CUDA)')
    parser.add_argument('--tensorboard', action='store_true',
                        help='also log scalars to TensorBoard '
                        '(<work dir>/<timestamp>/vis_data)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. '
                        'train_cfg.max_epochs=5')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='job launcher')
    add_data_root_arg(parser)
    add_max_image_pixels_arg(parser)
    add_command_args(parser)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args: argparse.Namespace) -> Config:
    """:func:`~mbv3.apis.train.build_train_config` of a parsed command
    line."""
    return build_train_config(
        args.config, work_dir=args.work_dir, resume=args.resume,
        amp=args.amp, tensorboard=args.tensorboard,
        cfg_options=args.cfg_options, launcher=args.launcher,
        data_root=args.data_root)


@command
def main(argv=None):
    """Parse ``argv``, prepare data and train.

    Returns:
        nn.Module: The trained model.
    """
    args = parse_args(argv)
    # glibc keeps freed activation memory (mbv3.deploy.malloc; said by
    # benchmark_train.py, switched off by MBV3_MALLOC=default)
    tune_allocator()
    return run_training(build_config(args))


if __name__ == '__main__':
    from mbv3.cli import run
    run('train')
