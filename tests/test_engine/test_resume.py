"""Resume across a changed set of trainable parameters (issue 11 input 9):
train with ``frozen_stages=6``, then ``--resume`` with ``frozen_stages=-1``
stops before training with one line naming what changed and
``load_from=`` as the remedy, which then works."""
import os

import pytest

from tests.conftest import run_tool
from tests.test_apis.test_kill_resume import ONE_THREAD, tiny_digits_config

pytestmark = pytest.mark.slow


def options(frozen_stages, epochs, *extra):
    return ['--cfg-options', f'model.backbone.frozen_stages={frozen_stages}',
            f'train_cfg.max_epochs={epochs}', *extra]


def test_resume_after_unfreezing_stops_with_one_line(tmp_path):
    config = tiny_digits_config(tmp_path, str(tmp_path / 'digits'))
    work_dir = str(tmp_path / 'work')
    out = run_tool('train.py', config, '--work-dir', work_dir,
                   *options(6, 1), env=ONE_THREAD)
    assert out.returncode == 0, out.stderr[-3000:]
    checkpoint = os.path.join(work_dir, 'epoch_1.pth')

    out = run_tool('train.py', config, '--work-dir', work_dir, '--resume',
                   *options(-1, 2), env=ONE_THREAD)
    assert out.returncode == 1
    assert 'Traceback' not in out.stderr
    # The classifier has 142 parameter tensors (backbone 138, head 4);
    # freezing layers 0..6 leaves 68 + 4 trainable, in two AdamW groups
    # (paramwise_cfg: decayed and not)
    assert out.stderr.splitlines()[-1] == (
        f"error: ResumeMismatchError: cannot resume {checkpoint!r}: its "
        "optimizer state has 2 "
        "parameter groups holding 72 tensors, this config's optimizer has "
        '2 holding 142 (changed: model.backbone.frozen_stages: 6 -> -1); '
        'to start from its weights with a new optimizer and schedule, '
        f'train with load_from={checkpoint!r} into another --work-dir '
        'instead of --resume (--debug shows the traceback)')
    assert not os.path.exists(os.path.join(work_dir, 'epoch_2.pth'))

    out = run_tool('train.py', config, '--work-dir',
                   str(tmp_path / 'unfrozen'),
                   *options(-1, 1, f'load_from={checkpoint}'),
                   env=ONE_THREAD)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'Load checkpoint from' in out.stdout + out.stderr
