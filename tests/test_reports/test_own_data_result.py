"""The README's own-data figure is the one its script recorded (no
retraining here: tools/analysis_tools/own_data_result.py measured it)."""
import json
import os

import pytest
from mmengine.config import Config

from mbv3.reports.generated import generated_section
from mbv3.reports.own_data_result import (BEGIN, END, RESULT_JSON,
                                        command_work_dir,
                                        readme_own_data_steps,
                                        result_markdown)
from tests.conftest import DIGITS_CONFIG, REPO


def read(rel):
    with open(os.path.join(REPO, rel), encoding='utf-8') as f:
        return f.read()


def test_readme_figure_is_the_recorded_result():
    result = json.loads(read(RESULT_JSON))
    readme = read('README.md')
    assert generated_section(readme, BEGIN, END) == result_markdown(result)
    _, command = readme_own_data_steps(readme)
    assert result['command'] == command
    assert result['top1'] >= 95.0
    # the digits recipe's schedule, on the folder the README's block writes:
    # 13 x 29 train and 4 x 8 val crops of each of the 3 photos
    assert result['epochs'] == Config.fromfile(
        DIGITS_CONFIG).train_cfg.max_epochs == 20
    assert (result['train_images'], result['val_images']) == (1131, 96)


def test_quickstart_shows_the_same_steps():
    assert readme_own_data_steps(read('docs/quickstart.md')) == \
        readme_own_data_steps(read('README.md'))


def test_steps_and_work_dir_are_found():
    text = ('```python\nopen("data/textures/x")\n```\n\n```bash\n'
            'python tools/train.py c.py --data-root data/textures '
            '--work-dir work_dirs/t\npython tools/test.py c.py\n```\n')
    writer, command = readme_own_data_steps(text)
    assert writer == 'open("data/textures/x")\n'
    assert command_work_dir(command) == 'work_dirs/t'
    with pytest.raises(ValueError, match='has no --work-dir'):
        command_work_dir('python tools/train.py c.py')
    with pytest.raises(ValueError, match='the README must hold'):
        readme_own_data_steps('no blocks')
