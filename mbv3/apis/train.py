"""Training as library functions: the config of a run, resuming, the run
(the command line is :mod:`mbv3.cli.train`)."""
import difflib
import inspect
import logging
import os
import os.path as osp
import warnings
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

from mbv3.datasets.bad_files import skip_bad_files
from mbv3.datasets.loader import apply_loader_defaults
from mbv3.datasets.preparation import prepare_data
from mbv3.engine.mmengine_patches import cpu_ddp_wrapper_cfg, init_dist_cpu_safe
from mbv3.engine.resume import check_resumable, completed_run
from mbv3.engine.runner import ConsoleRunner
from mbv3.engine.work_dir import claim_work_dir, release_work_dir
from mbv3.utils.checkpoint import check_intact, find_intact_checkpoint
from mbv3.utils.config_files import read_config
from mbv3.datasets.data_root import (apply_data_root, check_data_root,
                                    resolve_num_classes)


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


def build_train_config(config, *, work_dir: Optional[str] = None,
                       resume: Optional[str] = None, amp: bool = False,
                       tensorboard: bool = False,
                       cfg_options: Optional[dict] = None,
                       launcher: str = 'none',
                       data_root: Optional[str] = None,
                       split_dir: Optional[str] = None,
                       make_split: bool = True) -> Config:
    """Load a config and apply the run's options to it; warn about
    top-level keys that look misspelt (:func:`misspelled_keys`); make
    folder data sets skip, name and count unreadable files; stop a
    config whose top-level ``data_root`` its loaders do not read
    (:func:`~mbv3.datasets.data_root.check_data_root`); fill a class count left
    to the data (:func:`~mbv3.datasets.data_root.resolve_num_classes`) and
    the loader settings left out (workers, pinned memory:
    :func:`~mbv3.datasets.loader.apply_loader_defaults`).

    Args:
        config (str): Config path; one not found from the current folder
            is looked up among the installed configs
            (:func:`~mbv3.utils.config_files.find_config`).
        work_dir (str, optional): Where logs and checkpoints go; default
            the config's, else ``./work_dirs/<config name>``.
        resume (str, optional): None, 'auto' or a checkpoint path
            (:func:`resolve_resume`).
        amp (bool): bf16 autocast through mbv3's ``AmpOptimWrapper``.
        tensorboard (bool): Also log scalars to TensorBoard.
        cfg_options (dict, optional): Keys to override, dotted.
        launcher (str): 'none', 'pytorch' or 'slurm'.
        data_root (str, optional): ``--data-root``: every data loader reads
            this folder (:func:`~mbv3.datasets.data_root.apply_data_root`).
        split_dir (str, optional): Where the validation split of a folder
            without ``val/`` is recorded; default the work dir.
        make_split (bool): Make that split when none is recorded (False:
            only read it, as ``mbv3-test`` does).

    Returns:
        Config: The config the Runner is built from.

    Raises:
        FileNotFoundError: If the config, the checkpoint to resume, or the
            ``data_root`` folder is missing, or the class count is left to
            a training folder that does not exist.
        DataRootMismatchError: If the top-level ``data_root`` is not what
            the loaders read.

    A distributed run without a GPU runs SyncBN as BN
    (:func:`revert_sync_bn_without_gpu`).
    """
    cfg = read_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    warn_misspelled_keys(cfg)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    if amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('dtype', 'bfloat16')
    if tensorboard:
        cfg.visualizer.vis_backends = list(cfg.visualizer.vis_backends) + [
            dict(type='TensorboardVisBackend')]
    if data_root is not None:
        apply_data_root(cfg, data_root, split_dir or cfg.work_dir,
                        make_split)
    check_data_root(cfg)
    _skip_bad_files(cfg)
    resolve_num_classes(cfg)
    apply_loader_defaults(cfg)
    checkpoint = resolve_resume(resume, cfg.work_dir)
    if checkpoint is not None:
        cfg.resume = True
        cfg.load_from = checkpoint
    cpu_ddp_wrapper_cfg(cfg)
    revert_sync_bn_without_gpu(cfg)
    return cfg


#: Norm types that build torch's SyncBatchNorm (mmcv's and mbv3's names).
SYNC_BN_TYPES = ('SyncBN', 'MMSyncBN', 'SyncBatchNorm')
#: The keys of a norm config that BN takes.
_BN_KEYS = ('type', 'eps', 'momentum', 'affine', 'track_running_stats',
            'requires_grad')


def _is_sync_bn(norm_type) -> bool:
    if isinstance(norm_type, str):
        return norm_type.rsplit('.', 1)[-1] in SYNC_BN_TYPES
    return isinstance(norm_type, type) and issubclass(
        norm_type, torch.nn.SyncBatchNorm)


def _sync_bn_to_bn(node) -> int:
    """Turn every SyncBN norm config inside ``node`` into BN, in place;
    return how many."""
    count = 0
    if isinstance(node, dict):
        if _is_sync_bn(node.get('type')):
            for key in [k for k in node if k not in _BN_KEYS]:
                del node[key]
            node['type'] = 'BN'
            count += 1
        for value in node.values():
            count += _sync_bn_to_bn(value)
    elif isinstance(node, (list, tuple)):
        count += sum(_sync_bn_to_bn(value) for value in node)
    return count


def revert_sync_bn_without_gpu(cfg: Config) -> int:
    """Run a distributed config's SyncBN layers as BN where there is no
    GPU, with one warning (on rank 0), as mmengine's
    ``revert_sync_batchnorm`` does to a built model: torch's SyncBatchNorm
    runs on GPUs only, and DDP stops on CPU modules holding one. Each
    process then normalises over its own batch. A single process is left
    alone (SyncBatchNorm runs as BN there).

    Args:
        cfg (Config): The run's config; ``cfg.model`` is changed in place.

    Returns:
        int: The number of SyncBN norm configs turned into BN.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return 0
    count = _sync_bn_to_bn(cfg.model)
    if count and int(os.environ.get('RANK', '0')) == 0:
        warnings.warn(
            f'no GPU: the config\'s {count} SyncBN norm config(s) run as BN '
            "(torch's SyncBatchNorm needs GPUs), so each process normalises "
            "over its own batch; set norm_cfg=dict(type='BN') to silence "
            'this', stacklevel=2)
    return count


def init_dist_and_prepare_data(cfg: Config,
                               missing_only: bool = False) -> None:
    """Set up distribution for ``cfg.launcher``, then prepare the data set
    the config declares (:func:`~mbv3.datasets.preparation.prepare_data`,
    with ``missing_only``) on rank 0 while the other ranks wait: train and
    test both read a recipe's data from a fresh clone."""
    launcher = cfg.get('launcher', 'none')
    init_dist_cpu_safe(launcher)
    if int(os.environ.get('RANK', '0')) == 0:
        prepare_data(cfg, missing_only)
    if launcher != 'none':
        import torch.distributed as dist
        if dist.is_initialized():
            dist.barrier()


def _skip_bad_files(cfg: Config) -> None:
    """Folder data sets skip, name and count unreadable files (a named
    pipe, a link loop, a corrupt image) and go on: training draws another
    sample, validation scores the others (``SkipBadFilesValLoop``)."""
    if cfg.get('train_dataloader'):
        skip_bad_files(cfg.train_dataloader, markers=False)
    val = cfg.get('val_dataloader')
    if val and skip_bad_files(val).get('collate_fn') == dict(
            type='mbv3.collate_skipping_bad_files'):
        cfg.val_cfg = dict(cfg.get('val_cfg') or {},
                           type='mbv3.SkipBadFilesValLoop')


def build_runner(cfg: Config):
    """Set up distribution, prepare the data (rank 0) and build the Runner
    of ``cfg``.

    ``runner_type`` in the config (e.g. 'FlexibleRunner' with an FSDP
    strategy) selects the Runner class; otherwise it is
    :class:`~mbv3.engine.runner.ConsoleRunner`, which starts with a
    one-line banner. mbv3's commands apply the mmengine fixes
    (:mod:`mbv3.engine.mmengine_patches`) before they build ``cfg``.

    Returns:
        Runner: A Runner that has not started training.

    Raises:
        mbv3.engine.resume.ResumeMismatchError: When ``cfg`` resumes a
            checkpoint whose optimizer state does not fit this config's
            optimizer (:func:`check_resumable`).
    """
    init_dist_and_prepare_data(cfg)
    if 'runner_type' in cfg:
        from mbv3.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    else:
        runner = ConsoleRunner.from_cfg(cfg)
        runner.logger.info(runner.banner())
    if cfg.get('resume') and cfg.get('load_from'):
        check_resumable(runner, cfg.load_from, cfg)
        runner.logger.info(f'resuming from {cfg.load_from!r}')
    return runner


def run_training(cfg: Config):
    """Build the Runner of ``cfg`` (:func:`build_runner`) and train.

    Resuming a run that already reached the end of its schedule trains
    nothing: one line says so (:func:`completed_run`) and nothing is
    built. The first process (rank 0) holds the work dir for the run
    (:func:`~mbv3.engine.work_dir.claim_work_dir`): a second run into it,
    or a new run into one with checkpoints, is refused.

    Returns:
        nn.Module | None: The trained model; None for a completed run.

    Raises:
        mbv3.engine.resume.ResumeMismatchError: Before training, when
            ``cfg`` resumes a checkpoint whose optimizer state does not fit
            this config's optimizer.
        mbv3.engine.work_dir.WorkDirError: Before anything is prepared,
            when the work dir holds another run.
    """
    if cfg.get('resume') and cfg.get('load_from'):
        complete = completed_run(cfg.load_from, cfg)
        if complete:
            print_log(complete, logger='current')
            return None
    first = int(os.environ.get('RANK', '0')) == 0
    note = claim_work_dir(cfg.work_dir, resuming=bool(cfg.get('resume'))) \
        if first else None
    try:
        runner = build_runner(cfg)
        if note is not None:
            runner.logger.info(note)
        try:
            return runner.train()
        finally:
            for hook in runner.hooks:
                if hasattr(hook, 'restore_handlers'):
                    hook.restore_handlers()
    finally:
        if first:
            release_work_dir(cfg.work_dir)
