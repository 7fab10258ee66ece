"""``--amp`` on CPU trains the digits config in bf16 autocast and the loss
falls; the log carries img/s next to the ETA; TensorBoard is an option; the
run ends with a PNG of its curves."""
import glob
import os
import uuid

import pytest
import torch

from mbv3.cli.train import build_config as build_train_config
from mbv3.cli.train import parse_args as parse_train_args
from mbv3.visualization import plot_curves, read_scalars
from tests.conftest import DIGITS_CONFIG, assert_png, data_root_options


@pytest.fixture(scope='module')
def amp_run(digits_subset, tmp_path_factory, one_thread):
    from mmengine.runner import Runner
    root, _ = digits_subset
    work_dir = str(tmp_path_factory.mktemp('amp'))
    # 32 images at 16x16, batch 16, 6 epochs: 12 iterations; bf16 steps
    # are about 4x slower than fp32 on CPUs without native bf16.
    args = parse_train_args([
        DIGITS_CONFIG, '--amp', '--tensorboard', '--work-dir', work_dir,
        '--cfg-options', *data_root_options(root),
        'data_preparation.train_subset=0.1', 'train_dataloader.batch_size=16',
        'train_dataloader.dataset.indices=32',
        'train_dataloader.dataset.pipeline.1.scale=16',
        'val_dataloader.dataset.pipeline.1.scale=[16,16]',
        'val_dataloader.dataset.indices=64',
        'train_cfg.max_epochs=6', 'train_cfg.val_interval=3',
        'default_hooks.logger.interval=1', 'param_scheduler=[]',
        'custom_hooks.0.num_samples=32'
    ])
    runner = Runner.from_cfg(build_train_config(args))
    dtypes = set()
    runner.model.backbone.layer1.register_forward_hook(
        lambda module, inputs, output: dtypes.add(output.dtype))
    forwards = record_training_forwards(runner.model)
    runner.train()
    return runner, work_dir, dtypes, forwards


def record_training_forwards(model):
    """The batch size of each training forward (``mode='loss'``) of
    ``model``, counted by its own hook."""
    forwards = []

    def after(module, args, kwargs, out):
        if kwargs.get('mode') == 'loss':
            forwards.append(len(kwargs['inputs']))

    model.register_forward_hook(after, with_kwargs=True)
    return forwards


@pytest.mark.slow
def test_amp_trains_in_bf16_and_loss_falls(amp_run):
    runner, _, dtypes, _ = amp_run
    assert type(runner.optim_wrapper).__module__ == 'mbv3.engine.optim_wrapper'
    assert runner.optim_wrapper.cast_dtype == torch.bfloat16
    assert torch.bfloat16 in dtypes  # training forwards ran in autocast
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 12
    assert losses[-3:].mean() < 0.8 * losses[:3].mean()


@pytest.mark.slow
def test_log_has_eta_and_img_per_s(amp_run):
    runner, work_dir, _, forwards = amp_run
    (log, ) = glob.glob(os.path.join(work_dir, '*', '*.log'))
    with open(log) as f:
        lines = [line for line in f if 'Epoch(train)' in line]
    assert all('eta: ' in line and 'img_per_s: ' in line for line in lines)
    # 12 training forwards of 16 images, counted by the model's own hooks
    assert forwards == [16] * 12
    # img/s over the log window (the last 10 iterations): the batch over
    # the mean iteration time IterTimerHook recorded (a relation between
    # logged values, not a speed)
    hub = runner.message_hub
    assert hub.get_scalar('train/img_per_s').current() == pytest.approx(
        16 / hub.get_scalar('train/time').mean(10))


def test_throughput_hook_divides_the_global_batch_by_the_window_mean():
    from types import SimpleNamespace

    from mmengine.logging import MessageHub

    from mbv3.engine.hooks import ThroughputHook
    hub = MessageHub(f'throughput_{uuid.uuid4().hex}')
    for seconds in (9.0, 0.5, 0.25, 0.25):
        hub.update_scalar('train/time', seconds)
    runner = SimpleNamespace(message_hub=hub, log_processor=SimpleNamespace(
        window_size=3))
    batch = dict(inputs=[torch.zeros(3, 8, 8)] * 6)
    ThroughputHook().after_train_iter(runner, 0, batch)
    # 6 images over the mean of the last 3 iteration times, 1/3 s
    assert hub.get_scalar('train/img_per_s').current() == pytest.approx(18.0)


@pytest.mark.slow
def test_tensorboard_and_curves_png(amp_run):
    _, work_dir, _, _ = amp_run
    assert glob.glob(os.path.join(work_dir, '*', 'vis_data',
                                  'events.out.tfevents.*'))
    assert_png(os.path.join(work_dir, 'curves.png'), (1000, 400))


def test_plot_curves_needs_a_loss(tmp_path):
    path = tmp_path / 'scalars.json'
    path.write_text('{"accuracy/top1": 50.0, "step": 1}\n')
    with pytest.raises(ValueError, match='no training loss'):
        plot_curves(str(path), str(tmp_path / 'c.png'))


def test_plot_curves_from_scalars_file(tmp_path):
    path = tmp_path / 'scalars.json'
    path.write_text('{"loss": 2.3, "iter": 1, "step": 1}\n'
                    '{"loss": 1.1, "iter": 2, "step": 2}\n'
                    '{"accuracy/top1": 61.5, "step": 1}\n')
    train, val = read_scalars([str(path)])
    assert train == {'loss': {1: 2.3, 2: 1.1}}
    assert val == {'accuracy/top1': {1: 61.5}}
    out = plot_curves(str(path), str(tmp_path / 'c.png'), title='run')
    assert_png(out, (1000, 400))
