"""Kill -9 during training, resume, and end with the very weights of an
uninterrupted run (deterministic CPU mode, fixed seed)."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from mbv3.utils.checkpoint import load_checkpoint_file
from tests.conftest import DIGITS_CONFIG, REPO, run_tool

pytestmark = pytest.mark.slow

EPOCHS = 3
# One thread: identical arithmetic in every run, and on a shared 2-core
# machine far faster than two spinning OpenMP threads.
ONE_THREAD = dict(OMP_NUM_THREADS='1')


def tiny_digits_config(tmp_path, root):
    """The main job shrunk: ~60 digits at 16 px, 4 iterations an epoch, no
    validation, a checkpoint every epoch."""
    path = tmp_path / 'tiny_digits.py'
    path.write_text(f'''
_base_ = [{DIGITS_CONFIG!r}]
data_root = {root!r}
data_preparation = dict(type='digits', root={root!r}, val_ratio=0.2, seed=0,
                        train_subset=0.04)
train_dataloader = dict(batch_size=16, dataset=dict(data_root={root!r},
    pipeline=[dict(type='LoadImageFromFile'),
              dict(type='RandomResizedCrop', scale=16,
                   crop_ratio_range=(0.6, 1.0)),
              dict(type='PackInputs')]))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
train_cfg = dict(_delete_=True, by_epoch=True, max_epochs={EPOCHS})
custom_hooks = []
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=5),
                     logger=dict(interval=1))
randomness = dict(seed=0, deterministic=True)
''')
    return str(path)


def final_state(work_dir):
    ckpt = load_checkpoint_file(os.path.join(work_dir, f'epoch_{EPOCHS}.pth'))
    return ckpt['state_dict'], ckpt['optimizer']['state']


def start_train(config, work_dir):
    env = dict(os.environ, PYTHONPATH=REPO, **ONE_THREAD)
    return subprocess.Popen(
        [sys.executable, os.path.join(REPO, 'tools', 'train.py'), config,
         '--work-dir', work_dir], cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill_after(proc, path, timeout=300):
    start = time.monotonic()
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode()[-3000:])
        if time.monotonic() - start > timeout:
            proc.kill()
            raise AssertionError(f'{path} never appeared')
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    return proc.returncode


@pytest.mark.reliability(kind='kill -9', case='digits training killed, '
                         'resumed: weights and optimizer equal an '
                         'uninterrupted run')
def test_kill_9_then_resume_equals_uninterrupted_run(tmp_path):
    root = str(tmp_path / 'digits')
    config = tiny_digits_config(tmp_path, root)
    ref_dir, killed_dir = str(tmp_path / 'ref'), str(tmp_path / 'killed')
    out = run_tool('train.py', config, '--work-dir', ref_dir, env=ONE_THREAD)
    assert out.returncode == 0, out.stderr[-3000:]

    proc = start_train(config, killed_dir)
    assert kill_after(proc, os.path.join(killed_dir, 'epoch_1.pth')) == \
        -signal.SIGKILL
    assert not os.path.exists(os.path.join(killed_dir, f'epoch_{EPOCHS}.pth'))

    out = run_tool('train.py', config, '--work-dir', killed_dir, '--resume',
                   env=ONE_THREAD)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'resumed epoch: ' in out.stdout + out.stderr
    ref_weights, ref_optim = final_state(ref_dir)
    weights, optim = final_state(killed_dir)
    assert ref_weights.keys() == weights.keys()
    for key in ref_weights:
        assert torch.equal(ref_weights[key], weights[key]), key
    for index, state in ref_optim.items():
        for name, value in state.items():
            assert torch.equal(value, optim[index][name]), (index, name)
