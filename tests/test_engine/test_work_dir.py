"""A training run holds its work dir: the ``.tmp`` files of a checkpoint
write killed by ``kill -9`` are removed when the next run starts there, and
a second run into it (a re-run without ``--resume``, or two at once) is
refused naming ``--resume`` and ``--work-dir`` (issue 23)."""
import glob
import os
import signal
import subprocess
import sys

import pytest

from mbv3.cli.train import main as train
from mbv3.engine.work_dir import WorkDirError
from tests.conftest import DIGITS_CONFIG, REPO, write_image_folder

KIND = 'work dir'
ONE_EPOCH = ['--cfg-options', 'train_cfg.max_epochs=1',
             'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0']


def python(code: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    return subprocess.Popen([sys.executable, '-c', code], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def killed_mid_write(work_dir: str) -> str:
    """kill -9 a process inside ``atomic_write`` of ``epoch_1.pth`` (its
    fsync made to wait): the temporary file it leaves."""
    target = os.path.join(work_dir, 'epoch_1.pth')
    proc = python(
        'import os, sys, time\n'
        'from mbv3.utils.checkpoint import atomic_write\n'
        'os.fsync = lambda fd: (print("writing", flush=True), '
        'time.sleep(600))\n'
        f'atomic_write(b"x" * 2**20, {target!r})')
    assert proc.stdout.readline() == 'writing\n', proc.stderr.read()
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    (tmp, ) = [n for n in os.listdir(work_dir) if n.endswith('.tmp')]
    assert os.path.getsize(os.path.join(work_dir, tmp)) == 2**20
    return tmp


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp('tex'),
                              ('train', 'val'), per_class=2)


@pytest.mark.slow
@pytest.mark.reliability(kind=KIND, case='kill -9 inside a checkpoint '
                         'write: its .tmp removed when the next run starts')
def test_next_run_removes_the_tmp_of_a_killed_write(data_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    os.makedirs(work_dir)
    tmp = killed_mid_write(work_dir)
    train([DIGITS_CONFIG, '--data-root', data_root, '--work-dir', work_dir,
           *ONE_EPOCH])
    names = os.listdir(work_dir)
    assert 'epoch_1.pth' in names
    assert not [n for n in names if n.endswith('.tmp')]
    (log, ) = glob.glob(os.path.join(work_dir, '*', '*.log'))
    with open(log, encoding='utf-8') as f:
        assert f"work dir {work_dir!r}: new run; removed 1 temporary " \
            f"file(s) of a killed checkpoint write: {tmp}\n" in f.read()


@pytest.mark.reliability(kind=KIND, case='re-run into a finished run\'s '
                         'work dir without --resume: refused')
def test_new_run_into_a_work_dir_with_checkpoints_is_refused(data_root,
                                                             tmp_path):
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    (work_dir / 'epoch_3.pth').write_bytes(b'a finished run')
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_3.pth'))
    with pytest.raises(WorkDirError) as err:
        train([DIGITS_CONFIG, '--data-root', data_root, '--work-dir',
               str(work_dir), *ONE_EPOCH])
    assert str(err.value) == (
        f"work dir {str(work_dir)!r} holds the checkpoints of an earlier "
        'run (epoch_3.pth, last_checkpoint); a new run there would mix its '
        'checkpoints with them: pass --resume to continue that run, or '
        'another --work-dir for a new one')
    assert sorted(os.listdir(work_dir)) == [
        '.mbv3-run.lock', 'epoch_3.pth', 'last_checkpoint']


@pytest.mark.reliability(kind=KIND, case='two trainings into one work dir '
                         'at once: the second refused')
def test_second_run_into_a_busy_work_dir_is_refused(data_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    holder = python(
        'import time\n'
        'from mbv3.engine.work_dir import claim_work_dir\n'
        f'claim_work_dir({work_dir!r}, resuming=False)\n'
        'print("holding", flush=True)\n'
        'time.sleep(600)')
    try:
        # its log line, then ours
        assert 'holding\n' in iter(holder.stdout.readline, '')
        with pytest.raises(WorkDirError) as err:
            train([DIGITS_CONFIG, '--data-root', data_root, '--work-dir',
                   work_dir, *ONE_EPOCH])
    finally:
        holder.kill()
        holder.wait()
    assert str(err.value) == (
        f'work dir {work_dir!r} is in use by another training run (pid '
        f'{holder.pid}); wait for it to end, or pass another --work-dir')
