"""Recompute BatchNorm statistics with the current weights."""
import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.nn.modules.batchnorm import _BatchNorm

from mbv3.registry import HOOKS


@torch.no_grad()
def update_bn_stats(model, data_loader, num_samples: int = 1024) -> int:
    """Reset and re-estimate the running mean/var of every BN layer that is
    in training mode, as an equal-weight average over ``num_samples``
    training images run through the current weights ("precise BN", Wu and
    Johnson, "Rethinking Batch in BatchNorm", 2021, Section 3).

    With BN momentum 0.01 (the MobileNetV3 default) the running statistics
    of a short run still hold mostly their initial values, and eval-mode
    accuracy collapses; this fixes them. BN layers kept in eval mode
    (``frozen_stages``, ``norm_eval``) are left alone. Across ranks the
    statistics are averaged.

    Args:
        model (BaseModel): An mmengine model (``data_preprocessor`` and
            ``mode='tensor'``), wrapped or not.
        data_loader (Iterable): Yields training batches.
        num_samples (int): Images to use per rank, > 0.

    Returns:
        int: Images used on this rank.

    Raises:
        ValueError: If ``num_samples`` is not positive.
    """
    if num_samples <= 0:
        raise ValueError(f'num_samples must be > 0, got {num_samples}')
    if is_model_wrapper(model):
        model = model.module
    was_training = model.training
    model.train()
    bns = [m for m in model.modules()
           if isinstance(m, _BatchNorm) and m.training and
           m.track_running_stats]
    if not bns:
        model.train(was_training)
        return 0
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the batches below
    seen = 0
    for data in data_loader:
        data = model.data_preprocessor(data, False)
        model(data['inputs'], mode='tensor')
        seen += data['inputs'].shape[0]
        if seen >= num_samples:
            break
    for bn, momentum in zip(bns, momenta):
        bn.momentum = momentum
        if get_world_size() > 1:
            for stat in (bn.running_mean, bn.running_var):
                all_reduce(stat, op='mean')
    model.train(was_training)
    return seen


@HOOKS.register_module()
class PreciseBNHook(Hook):
    """Run :func:`update_bn_stats` on the training data after every
    ``interval`` training epochs and at the end of training
    (mmpretrain's ``PreciseBNHook`` names).

    Args:
        num_samples (int): Images per update. Defaults to 1024.
        interval (int): Epochs between updates. Defaults to 1.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, num_samples: int = 1024, interval: int = 1):
        if num_samples <= 0 or interval <= 0:
            raise ValueError(f'num_samples and interval must be > 0, got '
                             f'{num_samples} and {interval}')
        self.num_samples = num_samples
        self.interval = interval

    def after_train_epoch(self, runner) -> None:
        if self.every_n_epochs(runner, self.interval) or \
                self.is_last_train_epoch(runner):
            seen = update_bn_stats(runner.model, runner.train_dataloader,
                                   self.num_samples)
            runner.logger.info(f'PreciseBN: BN statistics re-estimated on '
                               f'{seen} training images')
