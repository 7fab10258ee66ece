"""The main job's tools on a 10x smaller digits split (about 140 training
images): loss falls, checkpoints are written, eval-mode accuracy is sane
despite BN momentum, test.py agrees, and resume continues the run."""
import glob
import json
import os
import re
import shutil

import pytest

from tests.conftest import DIGITS_CONFIG, data_root_options, run_tool

pytestmark = pytest.mark.slow


def scalars(work_dir):
    (path, ) = glob.glob(os.path.join(work_dir, '*', 'vis_data',
                                      'scalars.json'))
    with open(path) as f:
        return [json.loads(line) for line in f]


def subset_options(root, epochs):
    return ['--cfg-options', *data_root_options(root),
            'data_preparation.train_subset=0.1',
            f'train_cfg.max_epochs={epochs}', 'train_cfg.val_interval=5',
            'default_hooks.logger.interval=1']


@pytest.fixture(scope='module')
def subset_run(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('digits'))
    work_dir = str(tmp_path_factory.mktemp('work'))
    out = run_tool('train.py', DIGITS_CONFIG, '--work-dir', work_dir,
                   *subset_options(root, 15))
    assert out.returncode == 0, out.stderr[-3000:]
    return root, work_dir, out


def test_train_writes_data_checkpoints_and_loss_falls(subset_run):
    root, work_dir, _ = subset_run
    with open(os.path.join(root, 'mbv3_digits.json')) as f:
        info = json.load(f)
    assert info['train'] == 143 and info['val'] == 360
    for epoch in (5, 10, 15):
        assert os.path.isfile(os.path.join(work_dir, f'epoch_{epoch}.pth'))
    losses = [r['loss'] for r in scalars(work_dir) if 'loss' in r]
    assert len(losses) == 45  # 15 epochs x 3 iterations
    first, last = sum(losses[:6]) / 6, sum(losses[-6:]) / 6
    assert last < 0.7 * first


def test_short_run_gives_sane_eval_accuracy(subset_run):
    # BN momentum 0.01 left alone gives chance level (~10%) after this
    # schedule; the recipe's momentum and PreciseBNHook must prevent it.
    _, work_dir, _ = subset_run
    top1 = [r['accuracy/top1'] for r in scalars(work_dir)
            if 'accuracy/top1' in r]
    assert top1[-1] >= 50.0


def test_test_tool_reports_same_accuracy(subset_run):
    root, work_dir, _ = subset_run
    top1 = [r['accuracy/top1'] for r in scalars(work_dir)
            if 'accuracy/top1' in r][-1]
    out = run_tool('test.py', DIGITS_CONFIG,
                   os.path.join(work_dir, 'epoch_15.pth'), '--work-dir',
                   os.path.join(work_dir, 'test'), '--cfg-options',
                   *data_root_options(root))
    assert out.returncode == 0, out.stderr[-3000:]
    reported = float(re.findall(r'accuracy/top1: ([\d.]+)', out.stdout +
                                out.stderr)[-1])
    assert reported == pytest.approx(top1, abs=1e-3)


def copy_of_the_run(subset_run, tmp_path):
    """The run's work dir copied, so that a test that trains on in it
    leaves the shared run as the other tests read it (one timestamp
    folder, 15 epochs), whatever the order."""
    root, work_dir, _ = subset_run
    copy = str(tmp_path / 'work')
    shutil.copytree(work_dir, copy)
    return root, copy


def test_resume_latest_continues_the_run(subset_run, tmp_path):
    root, work_dir = copy_of_the_run(subset_run, tmp_path)
    out = run_tool('train.py', DIGITS_CONFIG, '--work-dir', work_dir,
                   '--resume', *subset_options(root, 16))
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr
    # from the copy's own checkpoint (last_checkpoint is relative)
    checkpoint = os.path.join(work_dir, 'epoch_15.pth')
    assert f'resuming from {checkpoint!r}' in log
    assert 'resumed epoch: 15, iter: 45' in log
    assert os.path.isfile(os.path.join(work_dir, 'epoch_16.pth'))


def test_resume_with_nothing_to_resume_says_so(tmp_path):
    out = run_tool('train.py', DIGITS_CONFIG, '--work-dir', str(tmp_path),
                   '--resume', *subset_options(str(tmp_path / 'd'), 1))
    assert out.returncode != 0
    assert 'no checkpoint to resume in work dir' in out.stderr
    assert not os.path.exists(os.path.join(tmp_path, 'epoch_1.pth'))


def test_inference_api_on_trained_checkpoint(subset_run):
    import cv2

    from mbv3.apis import inference_model, init_model
    root, work_dir, _ = subset_run
    model = init_model(DIGITS_CONFIG, os.path.join(work_dir, 'epoch_15.pth'))
    assert model.dataset_meta['classes'] == tuple(str(i) for i in range(10))
    images = sorted(glob.glob(os.path.join(root, 'val', '*', '*.png')))
    hits = 0
    for path in images[::12]:
        result = inference_model(model, path)
        assert 0 <= result['pred_label'] < 10
        assert result['pred_class'] == str(result['pred_label'])
        assert 0.0 < result['pred_score'] <= 1.0
        hits += result['pred_class'] == os.path.basename(
            os.path.dirname(path))
        from_array = inference_model(model, cv2.imread(path))
        assert from_array['pred_label'] == result['pred_label']
    assert hits / len(images[::12]) >= 0.5


def test_resume_of_a_finished_run_says_it_is_complete(subset_run, tmp_path):
    # The README's `--resume` after a completed run: nothing is left to
    # train; one line says so, nothing is written, the exit status is 0
    # (the run did finish: a requeue loop `until train --resume` stops)
    root, work_dir = copy_of_the_run(subset_run, tmp_path)
    before = sorted(os.listdir(work_dir))
    out = run_tool('train.py', DIGITS_CONFIG, '--work-dir', work_dir,
                   '--resume', *subset_options(root, 15))
    assert out.returncode == 0, out.stderr[-3000:]
    checkpoint = os.path.join(work_dir, 'epoch_15.pth')
    assert out.stdout.splitlines()[-1].endswith(
        f'training is already complete: {checkpoint!r} finished epoch 15 of '
        'train_cfg.max_epochs=15; nothing is left to resume (to train '
        'longer, raise it: --cfg-options train_cfg.max_epochs=N)')
    assert 'Traceback' not in out.stderr
    assert 'Epoch(train)' not in out.stdout
    assert sorted(os.listdir(work_dir)) == before
