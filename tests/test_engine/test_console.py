"""The console of a training run shows a banner and the progress; the log
file in the work dir keeps the environment, the config and the optimizer's
per-parameter lines (issue 26: 330 to 510 lines came before the first
progress line)."""
import glob
import os
import uuid

import pytest

from tests.conftest import run_tool
from tests.test_apis.test_kill_resume import ONE_THREAD, tiny_digits_config
from tests.toy_runner import ToyData, ToyModel


def test_console_runner_leaves_the_set_up_detail_to_the_log_file(
        tmp_path, capsys):
    from mbv3.engine.runner import ConsoleRunner
    runner = ConsoleRunner(
        model=ToyModel(), work_dir=str(tmp_path),
        experiment_name=f'toy_{uuid.uuid4().hex}',
        train_dataloader=dict(
            dataset=ToyData(), batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1,
                                          weight_decay=1e-4),
                           paramwise_cfg=dict(bias_decay_mult=0.0)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        cfg=dict(marker_setting='kept in the log file'),
        default_scope='mbv3')
    runner.logger.info(runner.banner())
    runner.train()
    console = capsys.readouterr().out.splitlines()
    # the banner, "Checkpoints will be saved", 4 progress lines, the
    # experiment name and the checkpoint save; warnings (the toy has no
    # class names and no schedule) still show
    info = [line for line in console if ' - INFO - ' in line]
    assert len(info) == 8, '\n'.join(console)
    assert console[0].endswith(f'full log in {runner.log_file}')
    assert sum('Epoch(train) [1][' in line for line in console) == 4
    with open(runner.log_file) as f:
        log = f.read()
    for detail in ('System environment:', 'PyTorch compiling details',
                   "marker_setting = 'kept in the log file'",
                   'Hooks will be executed in the following order',
                   'paramwise_options -- '):
        assert detail in log
        assert all(detail not in line for line in console), detail


@pytest.mark.slow
def test_tiny_training_run_prints_a_short_console(tmp_path):
    config = tiny_digits_config(tmp_path, str(tmp_path / 'digits'))
    work_dir = str(tmp_path / 'work')
    out = run_tool('train.py', config, '--work-dir', work_dir,
                   '--cfg-options', 'train_cfg.max_epochs=1', env=ONE_THREAD)
    assert out.returncode == 0, out.stderr[-3000:]
    console = (out.stdout + out.stderr).splitlines()
    # banner, checkpoint folder, 4 progress lines, experiment name, save
    assert len(console) <= 10, '\n'.join(console)
    assert 'work dir' in console[0] and 'full log in' in console[0]
    (log_file, ) = glob.glob(os.path.join(work_dir, '*', '*.log'))
    assert console[0].endswith(log_file)
    with open(log_file) as f:
        log = f.read()
    assert 'Config:' in log and 'System environment:' in log
    # one line per parameter of the recipe's paramwise options (the
    # bias and norm parameters without weight decay)
    assert log.count('paramwise_options -- ') == 88
