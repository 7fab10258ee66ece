"""The reliability hooks on a toy model that trains in a fraction of a
second: NaN loss stops or skips, SIGTERM saves and resume reproduces the
uninterrupted run exactly, the head is checked against the data set."""
import os
import signal
from types import SimpleNamespace

import pytest
import torch
from mmengine.runner import Runner

from mbv3.engine.hooks import NonFiniteLossError, NumClassesCheckHook
from tests.conftest import DIGITS_CONFIG
from tests.toy_runner import (RMSPROP, SGD, PoisonHook, RecordWeightsHook,
                              SendSignalHook, restore_signal_handlers,
                              toy_runner, weights)


@pytest.mark.parametrize('optimizer', [
    pytest.param(SGD, id='fused', marks=pytest.mark.reliability(
        kind='NaN loss', case='action=error: stopped before the weights '
        'change, naming the iteration (fused optimizer step)')),
    pytest.param(RMSPROP, id='host', marks=pytest.mark.reliability(
        kind='NaN loss', case='action=error: stopped before the weights '
        'change, naming the iteration'))])
def test_nan_loss_stops_naming_the_iteration_and_keeps_last_good(
        tmp_path, optimizer):
    runner = toy_runner(tmp_path, hooks=[PoisonHook({5})],
                        optimizer=optimizer)
    before = {}
    runner.register_hook(RecordWeightsHook(5, before))
    with pytest.raises(NonFiniteLossError, match=r'loss is nan at '
                       r'iteration 6 \(epoch 2\); training stopped before '
                       r"updating the weights. Last good checkpoint: "
                       r"'.*epoch_1.pth'"):
        runner.train()
    restore_signal_handlers(runner)
    assert runner.iter == 5  # the NaN step did not complete
    for key, value in weights(runner).items():  # nor change the weights
        assert torch.equal(value, before[key]), key
    # recorded relative to the work dir, so a copied work dir resumes too
    assert open(tmp_path / 'last_checkpoint').read() == 'epoch_1.pth'


@pytest.mark.parametrize('optimizer', [
    pytest.param(SGD, id='fused', marks=pytest.mark.reliability(
        kind='NaN loss', case='action=skip: the steps dropped, the run '
        'finishes (fused optimizer step)')),
    pytest.param(RMSPROP, id='host', marks=pytest.mark.reliability(
        kind='NaN loss', case='action=skip: the steps dropped, the run '
        'finishes'))])
def test_nan_loss_skip_drops_the_steps_and_finishes(tmp_path, optimizer):
    runner = toy_runner(tmp_path, hooks=[PoisonHook({2, 9})],
                        nonfinite=dict(action='skip'), optimizer=optimizer)
    runner.train()
    (hook, ) = [h for h in runner.hooks
                if type(h).__name__ == 'NonFiniteLossHook']
    assert hook.skipped == [3, 10]  # 1-based, as logged
    assert runner.iter == 12
    assert all(torch.isfinite(w).all() for w in weights(runner).values())


@pytest.mark.reliability(kind='signal mid-epoch', case='SIGTERM: saved, '
                         'resumed to the uninterrupted final state')
def test_sigterm_saves_and_resume_equals_uninterrupted(tmp_path):
    reference = toy_runner(tmp_path / 'ref')
    reference.train()
    stopped = toy_runner(tmp_path / 'run',
                         hooks=[SendSignalHook(5, signal.SIGTERM)])
    with pytest.raises(SystemExit) as exit_info:
        stopped.train()
    restore_signal_handlers(stopped)
    assert exit_info.value.code == 128 + signal.SIGTERM
    saved = str(tmp_path / 'run' / 'iter_6.pth')  # iteration 6 finished
    assert open(tmp_path / 'run' / 'last_checkpoint').read() == 'iter_6.pth'
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored
    resumed = toy_runner(tmp_path / 'run', resume=True, load_from=saved)
    resumed.train()
    assert resumed.iter == reference.iter == 12
    ref = weights(reference)
    for key, value in weights(resumed).items():
        assert torch.equal(value, ref[key]), key


def test_second_signal_quits_at_once_without_saving(monkeypatch):
    from mbv3.engine.hooks import SignalCheckpointHook
    exits, previous_handler_calls = [], []

    class Exited(Exception):
        pass

    def fake_exit(code):
        exits.append(code)
        raise Exited

    monkeypatch.setattr(os, '_exit', fake_exit)
    before = signal.signal(signal.SIGUSR1,
                           lambda *a: previous_handler_calls.append(a))
    hook = SignalCheckpointHook(signals=('SIGUSR1', ))
    try:
        hook.before_train(None)
        os.kill(os.getpid(), signal.SIGUSR1)  # the first: save, then exit
        assert hook.received == signal.SIGUSR1 and exits == []
        with pytest.raises(Exited):
            os.kill(os.getpid(), signal.SIGUSR1)
        assert exits == [128 + signal.SIGUSR1]
        assert previous_handler_calls == []
    finally:
        hook.restore_handlers()
        signal.signal(signal.SIGUSR1, before)


def test_copied_work_dir_resumes_from_its_own_checkpoint(tmp_path):
    import shutil

    from mbv3.apis.train import resolve_resume
    toy_runner(tmp_path / 'original', epochs=2).train()
    shutil.copytree(tmp_path / 'original', tmp_path / 'copy')
    copied = str(tmp_path / 'copy' / 'epoch_2.pth')
    assert resolve_resume('auto', str(tmp_path / 'copy')) == copied
    # mmengine's own auto-resume (resume=True, no load_from), as another
    # library's tools/train.py --resume runs it, from another folder
    resumed = toy_runner(tmp_path / 'copy', epochs=3, resume=True)
    resumed.train()
    assert f'Auto resumed from the latest checkpoint {copied}.' in \
        open(resumed.logger.handlers[-1].baseFilename).read()
    assert resumed.iter == 12


def test_resuming_a_completed_run_says_so(tmp_path):
    from mmengine.config import Config

    from mbv3.engine.resume import completed_run
    toy_runner(tmp_path, epochs=2).train()

    def schedule(**train_cfg):
        return Config(dict(train_cfg=dict(by_epoch=True, **train_cfg)))

    last, middle = str(tmp_path / 'epoch_2.pth'), str(tmp_path / 'epoch_1.pth')
    assert completed_run(last, schedule(max_epochs=2)) == (
        f'training is already complete: {last!r} finished epoch 2 of '
        'train_cfg.max_epochs=2; nothing is left to resume (to train '
        'longer, raise it: --cfg-options train_cfg.max_epochs=N)')
    assert completed_run(last, schedule(max_epochs=3)) is None
    assert completed_run(middle, schedule(max_epochs=2)) is None
    # 4 iterations an epoch: epoch_2.pth is iteration 8
    assert 'finished iter 8 of train_cfg.max_iters=8' in completed_run(
        last, Config(dict(train_cfg=dict(by_epoch=False, max_iters=8))))
    assert completed_run(
        last, Config(dict(train_cfg=dict(by_epoch=False, max_iters=9)))) \
        is None


def test_resume_from_epoch_checkpoint_equals_uninterrupted(tmp_path):
    reference = toy_runner(tmp_path / 'ref')
    reference.train()
    toy_runner(tmp_path / 'run', epochs=1).train()
    resumed = toy_runner(tmp_path / 'run', resume=True,
                         load_from=str(tmp_path / 'run' / 'epoch_1.pth'))
    resumed.train()
    ref = weights(reference)
    for key, value in weights(resumed).items():
        assert torch.equal(value, ref[key]), key


@pytest.mark.parametrize('split', ['train', 'val'])
def test_num_classes_mismatch_stops_the_digits_run(split, digits_subset,
                                                   tmp_path):
    # The digits recipe with a 7-class head: training stops before its
    # first iteration, and a validation run (tools/test.py's val loop)
    # before its first batch.
    from mmengine.config import Config
    root, _ = digits_subset
    cfg = Config.fromfile(DIGITS_CONFIG)
    cfg.data_root = root
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.data_root = root
    cfg.model.head.num_classes = 7
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    seen = []
    runner.model.register_forward_pre_hook(lambda *args: seen.append(1))
    # (the digits recipe wrote this folder itself, so the hook says the
    # data sets point at the wrong folder)
    with pytest.raises(ValueError, match=(
            rf'model.head.num_classes is 7, but the {split} data set '
            r"CustomDataset has 10 classes \('0', '1', .*, '9'\) in "
            rf"'.*/{split}', which looks like the wrong folder")):
        runner.train() if split == 'train' else runner.val()
    assert seen == []  # no forward ran


def test_num_classes_error_names_the_folder_and_spots_the_wrong_one(
        tmp_path):
    from mbv3.datasets import CustomDataset
    from mbv3.datasets.digits import prepare_digits
    mine = tmp_path / 'mine' / 'train'
    for name in ('cat', 'dog'):
        (mine / name).mkdir(parents=True)
        (mine / name / 'a.png').write_bytes(b'')
    runner = SimpleNamespace(
        model=SimpleNamespace(head=SimpleNamespace(num_classes=3)),
        cfg=dict(data_root=str(tmp_path / 'mine')),
        train_dataloader=SimpleNamespace(dataset=CustomDataset(
            str(tmp_path / 'mine'), 'train')))
    with pytest.raises(ValueError) as err:
        NumClassesCheckHook().before_train(runner)
    assert str(err.value) == (
        "model.head.num_classes is 3, but the train data set CustomDataset "
        f"has 2 classes ('cat', 'dog') in {str(mine)!r}; set "
        'model.head.num_classes=2, or None to take it from the training '
        'folder')
    # the recipe's own digits while the config names another folder
    digits = str(tmp_path / 'digits')
    prepare_digits(digits, train_subset=0.1)
    runner.train_dataloader = SimpleNamespace(
        dataset=CustomDataset(digits, 'train'))
    with pytest.raises(ValueError) as err:
        NumClassesCheckHook().before_train(runner)
    assert f"has 10 classes ('0', '1'" in str(err.value)
    assert str(err.value).endswith(
        f"in {digits + '/train'!r}, which looks like the wrong folder (the "
        f"config sets data_root={str(tmp_path / 'mine')!r}); point the data "
        'sets at your folder with --data-root DIR')
    assert 'set model.head.num_classes' not in str(err.value)
    runner.cfg = dict(data_root=digits)
    with pytest.raises(ValueError, match=r"which looks like the wrong "
                       r"folder \('.*digits' holds the data set a recipe "
                       r"wrote itself \(mbv3_digits.json\)\)"):
        NumClassesCheckHook().before_train(runner)


def test_bad_hook_arguments():
    from mbv3.engine.hooks import NonFiniteLossHook, SignalCheckpointHook
    with pytest.raises(ValueError, match="action must be 'error' or 'skip'"):
        NonFiniteLossHook(action='ignore')
    with pytest.raises(ValueError, match="'SIGFOO' is not a signal name"):
        SignalCheckpointHook(signals=('SIGFOO', ))
