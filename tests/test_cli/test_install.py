"""The commands from a non-editable install, run outside the repository:
nothing is found relative to the source tree."""
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

# What building the wheel reads
SOURCES = ('setup.py', 'README.md', 'LICENSE', 'mbv3', 'configs')


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """``pip install .`` of a copy of the checkout into a target folder."""
    source = tmp_path_factory.mktemp('source')
    for name in SOURCES:
        path = os.path.join(REPO, name)
        if os.path.isdir(path):
            shutil.copytree(path, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copy(path, source / name)
    target = tmp_path_factory.mktemp('target')
    out = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--no-deps',
         '--no-build-isolation', '--no-compile', '--quiet', '--target',
         str(target), str(source)], capture_output=True, text=True,
        timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return target


def run(installed, tmp_path, *cmd):
    env = dict(os.environ, PYTHONPATH=str(installed))
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_installed_copy_is_what_runs(installed, tmp_path):
    where = run(installed, tmp_path, sys.executable, '-c',
                'import mbv3, mbv3.cli; print(mbv3.__file__)')
    assert where.strip() == str(installed / 'mbv3' / '__init__.py')
    # the configs are a copy in the wheel, not a link back to the checkout
    configs = installed / 'mbv3' / 'configs'
    assert configs.is_dir() and not configs.is_symlink()
    assert (configs / 'mobilenet_v3' / 'mobilenet-v3-small_digits.py'
            ).is_file()


def test_flops_on_a_shipped_config_from_another_folder(installed, tmp_path):
    out = run(installed, tmp_path, sys.executable, '-m', 'mbv3.cli.flops',
              'configs/_base_/models/mobilenet-v3-small.py')
    # torchvision mobilenet_v3_small: 2,542,856 parameters, 56.5M MACs at
    # 224 x 224 (paper Table 3: 56M multiply-adds)
    assert 'params 2.543M, MACs 56.5M' in out.splitlines()[-1]


def test_console_script_and_help(installed, tmp_path):
    out = run(installed, tmp_path, str(installed / 'bin' / 'mbv3-flops'),
              'mobilenet_v3/mobilenet-v3-small_digits.py', '--shape', '32',
              '32')
    assert out.splitlines()[-1].startswith('input (3, 32, 32): params ')
    usage = run(installed, tmp_path, sys.executable, '-m', 'mbv3.cli.train',
                '--help')
    assert usage.startswith('usage: ') and '--resume [RESUME]' in usage
