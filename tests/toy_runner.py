"""The toy mmengine run the reliability tests share: a dropout + linear
regressor on 8 noisy samples, 4 iterations an epoch, trained in a fraction
of a second, with mbv3's reliability hooks."""
import os
import random
import uuid

import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn


class ToyModel(BaseModel):
    """A linear regressor ``(N, 4) -> (N,)`` with dropout (torch RNG);
    ``poison`` makes its output NaN (the non-finite-loss case)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(4, 1)
        self.drop = nn.Dropout(0.5)
        self.poison = False

    def forward(self, inputs, targets, mode='tensor'):
        out = self.fc(self.drop(inputs)).squeeze(1)
        if self.poison:
            out = out * float('nan')
        if mode == 'loss':
            return dict(loss=((out - targets)**2).mean())
        return out


class ToyData(torch.utils.data.Dataset):
    """8 samples with Python-``random`` noise (like RandomResizedCrop)."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        x = torch.full((4, ), i / 8 + random.random())
        return dict(inputs=x, targets=torch.tensor(i / 8))


class PoisonHook(Hook):
    """Make the loss NaN for iterations ``at_iters`` (0-based)."""

    def __init__(self, at_iters):
        self.at_iters = at_iters

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        runner.model.poison = runner.iter in self.at_iters


class RecordWeightsHook(Hook):
    """Copy the weights into ``into`` before iteration ``at_iter``."""

    def __init__(self, at_iter, into):
        self.at_iter, self.into = at_iter, into

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at_iter:
            self.into.update(weights(runner))


class SendSignalHook(Hook):

    def __init__(self, at_iter, signum):
        self.at_iter, self.signum = at_iter, signum

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at_iter:
            os.kill(os.getpid(), self.signum)


# SGD gets torch's fused kernel (mbv3's optimizer constructor), whose step
# NonFiniteLossHook skips on the device; RMSprop has none, so the hook
# checks its loss on the host
SGD = dict(type='SGD', lr=0.1, momentum=0.9)
RMSPROP = dict(type='RMSprop', lr=0.01)


def toy_runner(work_dir, hooks=(), epochs=3, optimizer=SGD, **kwargs):
    """4 iterations an epoch, a checkpoint each epoch."""
    return Runner(
        model=ToyModel(), work_dir=str(work_dir),
        experiment_name=f'toy_{uuid.uuid4().hex}',
        train_dataloader=dict(
            dataset=ToyData(), batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        optim_wrapper=dict(optimizer=optimizer),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            resume_seed=dict(type='DeterministicResumeHook'),
            nonfinite_loss=dict(type='NonFiniteLossHook',
                                **kwargs.pop('nonfinite', {})),
            signal_checkpoint=dict(type='SignalCheckpointHook'),
            # resume on torch >= 2.6, atomic checkpoint writes
            mmengine_fixes=dict(type='MMEngineFixesHook')),
        custom_hooks=list(hooks), randomness=dict(seed=0),
        default_scope='mbv3', **kwargs)


def restore_signal_handlers(runner):
    for hook in runner.hooks:
        if type(hook).__name__ == 'SignalCheckpointHook':
            hook.restore_handlers()


def weights(runner):
    return {k: v.clone() for k, v in runner.model.state_dict().items()}
