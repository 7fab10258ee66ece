"""What ``tools/train.py`` does, as importable functions."""
import argparse
import difflib
import inspect
import logging
import os
import os.path as osp
import subprocess
import warnings
from typing import Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

from mbv3.utils.checkpoint import check_intact, find_intact_checkpoint
from .command import add_command_args
from .data_root import (add_data_root_arg, apply_data_root, check_data_root,
                        loader_datasets, resolve_num_classes)


def parse_train_args(argv=None) -> argparse.Namespace:
    """Command line of ``tools/train.py``."""
    parser = argparse.ArgumentParser(
        description='Train a model with an mbv3 config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go; '
                        'default ./work_dirs/<config name>')
    add_data_root_arg(parser)
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
    add_command_args(parser)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def resolve_resume(resume, work_dir: str):
    """Turn ``--resume`` into the checkpoint path to load.

    Args:
        resume (str | None): None, 'auto' (latest in ``work_dir``) or a path.
            With 'auto', a damaged latest checkpoint (e.g. cut off by a
            crash before mbv3 wrote checkpoints atomically) is skipped for
            the newest intact one, and a warning names both.
        work_dir (str): The run's work dir.

    Returns:
        str | None: The checkpoint path, or None when not resuming.

    Raises:
        FileNotFoundError: When asked to resume and there is nothing
            (intact) to resume: training never silently starts over.
        CorruptCheckpointError: If the given checkpoint is damaged (checked
            before the Runner is built).
    """
    if resume is None:
        return None
    if resume == 'auto':
        latest, skipped = find_intact_checkpoint(work_dir) \
            if osp.isdir(work_dir) else (None, [])
        if latest is None:
            damaged = ''.join(f'; skipped: {line}' for line in skipped)
            raise FileNotFoundError(
                f'--resume: no checkpoint to resume in work dir '
                f'{work_dir!r}{damaged}; train without --resume to start a '
                'new run')
        for line in skipped:
            print_log(f'--resume: skipping {line}; resuming from the newest '
                      f'intact checkpoint {latest!r}', logger='current',
                      level=logging.WARNING)
        return latest
    if not osp.isfile(resume):
        raise FileNotFoundError(f'--resume: checkpoint {resume!r} does not '
                                'exist')
    check_intact(resume)
    return resume


# Top-level keys mmengine 0.10.7's Runner reads (``Runner.__init__``'s
# arguments, plus those ``Runner`` looks up in ``self.cfg``) and those mbv3's
# tools read.
RUNNER_KEYS = frozenset(
    set(inspect.signature(Runner.__init__).parameters) - {'self', 'cfg'}
    | {'runner_type', 'model_wrapper_cfg', 'compile', 'sync_bn',
       'find_unused_parameters', 'efficient_conv_bn_eval',
       'activation_checkpointing', 'data_preparation'})


def misspelled_keys(cfg: Config, cutoff: float = 0.8) -> dict:
    """Top-level config keys that look like a misspelt Runner key.

    A config's top level also holds plain helper variables for its
    ``_base_`` files and interpolation (``data_root``, ``input_size``,
    ``max_epochs``, ``train_pipeline``, ...), which the Runner ignores by
    design. Warning for every unknown key would flag those, so only keys
    that are not known but close to a known one (``difflib`` similarity
    >= ``cutoff``) are reported: ``randomnes`` -> ``randomness``,
    ``optim_wraper`` -> ``optim_wrapper``. A typo far from every known key
    is not caught.

    Args:
        cfg (Config): The loaded config.
        cutoff (float): ``difflib.get_close_matches`` ratio in [0, 1].

    Returns:
        dict[str, str]: Unknown key -> the known key it resembles.
    """
    found = {}
    for key in cfg.keys():
        if key in RUNNER_KEYS or key.startswith('_'):
            continue
        close = difflib.get_close_matches(key, RUNNER_KEYS, n=1,
                                          cutoff=cutoff)
        if close:
            found[key] = close[0]
    return found


def warn_misspelled_keys(cfg: Config) -> None:
    """Warn, naming each top-level key of :func:`misspelled_keys`."""
    for key, known in misspelled_keys(cfg).items():
        warnings.warn(
            f'config key {key!r} is not read by the Runner and is ignored; '
            f'did you mean {known!r}?', UserWarning, stacklevel=2)


def build_train_config(args: argparse.Namespace,
                       split_dir: Optional[str] = None,
                       make_split: bool = True) -> Config:
    """Load the config and apply the command line to it; warn about
    top-level keys that look misspelt (:func:`misspelled_keys`).

    ``--data-root`` points every data loader at a folder (split recorded
    in the work dir, see :func:`~mbv3.apis.data_root.apply_data_root`);
    then a top-level ``data_root`` that the loaders do not read stops the
    run (:func:`~mbv3.apis.data_root.check_data_root`). ``split_dir``
    (default: the work dir) and ``make_split`` say where a validation split
    is recorded and whether it may be made there."""
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config {args.config!r} does not exist')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    warn_misspelled_keys(cfg)
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
    if getattr(args, 'data_root', None) is not None:
        apply_data_root(cfg, args.data_root, split_dir or cfg.work_dir,
                        make_split)
    check_data_root(cfg)
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


def _read_by_a_loader(cfg: Config, root) -> bool:
    return any(
        osp.normpath(str(dataset.get('data_root'))) == osp.normpath(str(root))
        for _, dataset in loader_datasets(cfg))


def prepare_data(cfg: Config) -> None:
    """Create the data set a config declares in ``data_preparation`` when
    it is missing and a data loader reads its root (a config pointed at
    another folder prepares nothing): 'digits' writes scikit-learn's digits
    (:func:`~mbv3.datasets.digits.prepare_digits`), 'skimage_seg' tiles of
    scikit-image photos with their masks
    (:func:`~mbv3.datasets.skimage_seg.prepare_skimage_seg`)."""
    prep = cfg.get('data_preparation')
    if not prep or not _read_by_a_loader(cfg, prep.get('root')):
        return
    prep = dict(prep)
    kind = prep.pop('type')
    from mbv3.datasets.digits import prepare_digits
    from mbv3.datasets.skimage_seg import prepare_skimage_seg
    preparers = dict(digits=prepare_digits, skimage_seg=prepare_skimage_seg)
    if kind not in preparers:
        raise ValueError(f'data_preparation type must be one of '
                         f'{sorted(preparers)}, got {kind!r}')
    preparers[kind](**prep)


def train(argv=None):
    """Parse ``argv``, prepare data, build the Runner and train.

    Returns:
        nn.Module: The trained model.
    """
    args = parse_train_args(argv)
    cfg = build_train_config(args)
    init_dist_cpu_safe(args.launcher)
    if int(os.environ.get('RANK', '0')) == 0:
        prepare_data(cfg)
    if args.launcher != 'none':
        import torch.distributed as dist
        if dist.is_initialized():
            dist.barrier()
    resolve_num_classes(cfg)
    if 'runner_type' in cfg:  # e.g. 'FlexibleRunner' with an FSDP strategy
        from mbv3.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    try:
        return runner.train()
    finally:
        for hook in runner.hooks:
            if hasattr(hook, 'restore_handlers'):
                hook.restore_handlers()
