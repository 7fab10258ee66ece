"""What ``tools/train.py`` does, as importable functions."""
import argparse
import os
import os.path as osp
import subprocess

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import find_latest_checkpoint


def parse_train_args(argv=None) -> argparse.Namespace:
    """Command line of ``tools/train.py``."""
    parser = argparse.ArgumentParser(
        description='Train a model with an mbv3 config')
    parser.add_argument('config', help='config file path')
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
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def resolve_resume(resume, work_dir: str):
    """Turn ``--resume`` into the checkpoint path to load.

    Args:
        resume (str | None): None, 'auto' (latest in ``work_dir``) or a path.
        work_dir (str): The run's work dir.

    Returns:
        str | None: The checkpoint path, or None when not resuming.

    Raises:
        FileNotFoundError: When asked to resume and there is nothing to
            resume: training never silently starts over.
    """
    if resume is None:
        return None
    if resume == 'auto':
        latest = find_latest_checkpoint(work_dir) if osp.isdir(work_dir) \
            else None
        if latest is None:
            raise FileNotFoundError(
                f'--resume: no checkpoint to resume in work dir '
                f'{work_dir!r}; train without --resume to start a new run')
        return latest
    if not osp.isfile(resume):
        raise FileNotFoundError(f'--resume: checkpoint {resume!r} does not '
                                'exist')
    return resume


def build_train_config(args: argparse.Namespace) -> Config:
    """Load the config and apply the command line to it."""
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config {args.config!r} does not exist')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('dtype', 'bfloat16')
    if getattr(args, 'tensorboard', False):
        cfg.visualizer.vis_backends = list(cfg.visualizer.vis_backends) + [
            dict(type='TensorboardVisBackend')]
    checkpoint = resolve_resume(args.resume, cfg.work_dir)
    if checkpoint is not None:
        cfg.resume = True
        cfg.load_from = checkpoint
    if args.launcher != 'none' and not torch.cuda.is_available():
        # DDP on CPU modules takes no device_ids; mmengine passes some.
        wrapper = dict(type='MMDistributedDataParallel', device_ids=None,
                       broadcast_buffers=False)
        wrapper.update(cfg.get('model_wrapper_cfg') or {})
        cfg.model_wrapper_cfg = wrapper
    return cfg


def init_dist_cpu_safe(launcher: str) -> None:
    """Initialise torch.distributed with gloo when CUDA is absent.

    mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device``, so on
    a CPU-only machine the process group is created here, before the
    Runner, which then skips its own initialisation. With CUDA this does
    nothing and mmengine initialises nccl as usual.

    Args:
        launcher (str): 'none', 'pytorch' (torchrun sets RANK, WORLD_SIZE,
            MASTER_ADDR, MASTER_PORT) or 'slurm' (read from SLURM_PROCID,
            SLURM_NTASKS, SLURM_LOCALID; the master is the first host of
            SLURM_NODELIST, port MASTER_PORT or 29500, as mmengine does).
    """
    import torch.distributed as dist
    if launcher == 'none' or dist.is_initialized() or \
            torch.cuda.is_available():
        return
    if launcher == 'slurm':
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ.setdefault('LOCAL_RANK',
                              os.environ.get('SLURM_LOCALID', '0'))
        os.environ.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in os.environ:
            os.environ['MASTER_ADDR'] = subprocess.run(
                ['scontrol', 'show', 'hostnames',
                 os.environ['SLURM_NODELIST']], capture_output=True,
                text=True, check=True).stdout.split()[0]
    dist.init_process_group(backend='gloo')


def prepare_data(cfg: Config) -> None:
    """Create the data set a config declares in ``data_preparation`` when
    it is missing (the digits recipe writes scikit-learn's digits)."""
    prep = cfg.get('data_preparation')
    if not prep:
        return
    prep = dict(prep)
    kind = prep.pop('type')
    if kind != 'digits':
        raise ValueError(f"data_preparation type must be 'digits', got "
                         f'{kind!r}')
    from mbv3.datasets.digits import prepare_digits
    prepare_digits(**prep)


def train(argv=None):
    """Parse ``argv``, prepare data, build the Runner and train.

    Returns:
        nn.Module: The trained model.
    """
    from mmengine.runner import Runner
    args = parse_train_args(argv)
    cfg = build_train_config(args)
    init_dist_cpu_safe(args.launcher)
    if int(os.environ.get('RANK', '0')) == 0:
        prepare_data(cfg)
    if args.launcher != 'none':
        import torch.distributed as dist
        if dist.is_initialized():
            dist.barrier()
    if 'runner_type' in cfg:  # e.g. 'FlexibleRunner' with an FSDP strategy
        from mbv3.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    return runner.train()
