"""The quickstart's own-data figure is the one its script recorded (no
retraining here: tools/analysis_tools/own_data_result.py measured it)."""
import json
import os

import pytest
from mmengine.config import Config

from mbv3.reports.generated import read_section
from mbv3.reports.own_data_result import (NAME, PAGE, RESULT_JSON,
                                          command_work_dir, own_data_steps,
                                          result_markdown)
from tests.conftest import DIGITS_CONFIG, REPO


def read(rel):
    with open(os.path.join(REPO, rel), encoding='utf-8') as f:
        return f.read()


def test_quickstart_figure_is_the_recorded_result():
    result = json.loads(read(RESULT_JSON))
    page = read(PAGE)
    assert PAGE == os.path.join('docs', 'quickstart.md')
    assert read_section(page, NAME) == result_markdown(result)
    _, command = own_data_steps(page)
    assert result['command'] == command
    assert result['top1'] >= 95.0
    # the digits recipe's schedule, on the folder the page's block writes:
    # 13 x 29 train and 4 x 8 val crops of each of the 3 photos
    assert result['epochs'] == Config.fromfile(
        DIGITS_CONFIG).train_cfg.max_epochs == 20
    assert (result['train_images'], result['val_images']) == (1131, 96)


def test_steps_and_work_dir_are_found():
    text = ('```python\nopen("data/textures/x")\n```\n\n```bash\n'
            'python tools/train.py c.py --data-root data/textures '
            '--work-dir work_dirs/t\npython tools/test.py c.py\n```\n')
    writer, command = own_data_steps(text)
    assert writer == 'open("data/textures/x")\n'
    assert command_work_dir(command) == 'work_dirs/t'
    with pytest.raises(ValueError, match='has no --work-dir'):
        command_work_dir('python tools/train.py c.py')
    with pytest.raises(ValueError, match='the page must hold'):
        own_data_steps('no blocks')
