"""Importing mbv3 leaves mmengine alone (it only adds its own ``mbv3://``
checkpoint prefix); mbv3's own commands fix it."""
import os
import subprocess
import sys

import pytest

from mbv3.engine import mmengine_patches
from tests.conftest import REPO
from tests.test_apis.test_kill_resume import tiny_digits_config

# Every mmengine object a fix may replace, read in a fresh interpreter
# before and after importing every mbv3 module.
SNAPSHOT = '''
def snapshot():
    import mmengine.config.config as config_module
    import mmengine.utils as utils
    import mmengine.utils.package_utils as package_utils
    from mmengine.fileio.backends import registry_utils
    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import CheckpointLoader
    found = dict(schemes=dict(CheckpointLoader._schemes),
                 backends=dict(registry_utils.backends),
                 prefixes=dict(registry_utils.prefix_to_backends),
                 getstate=HistoryBuffer.__dict__.get('__getstate__'))
    for module in (package_utils, utils, config_module):
        for name in ('is_installed', 'get_installed_path',
                     'package2module'):
            found[module.__name__ + '.' + name] = getattr(module, name,
                                                          None)
    return found
'''

IMPORT_ALL = SNAPSHOT + '''
import importlib, pkgutil
before = snapshot()
import mbv3
names = [m.name for m in pkgutil.walk_packages(mbv3.__path__, 'mbv3.')]
for name in names:
    importlib.import_module(name)
after = snapshot()
# the one addition allowed: mbv3's own checkpoint prefix (a new key)
added = sorted(set(after['schemes']) - set(before['schemes']))
for prefix in added:
    del after['schemes'][prefix]
changed = sorted(k for k in before
                 if before[k] is not after[k] and before[k] != after[k])
print(len(names), 'modules; added schemes:', added, '; changed:', changed)
'''


def test_importing_every_mbv3_module_changes_nothing_in_mmengine():
    env = dict(os.environ, PYTHONPATH=REPO)
    out = subprocess.run([sys.executable, '-c', IMPORT_ALL], cwd=REPO,
                         env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    count = int(out.stdout.split()[0])
    assert count > 80  # every subpackage was walked, not just mbv3
    assert out.stdout.strip().endswith(
        "added schemes: ['mbv3://'] ; changed: []"), out.stdout


def test_fixes_apply_only_to_the_affected_mmengine(monkeypatch):
    assert mmengine_patches.mmengine_is_affected('0.10.7')
    assert not mmengine_patches.mmengine_is_affected('0.11.0')
    monkeypatch.setattr(mmengine_patches.mmengine, '__version__', '0.11.0')
    assert mmengine_patches.apply_mmengine_fixes() == []


def test_apply_then_restore_gives_back_the_originals():
    from mmengine.fileio.backends import registry_utils
    from mmengine.runner.checkpoint import CheckpointLoader

    from mbv3.utils.checkpoint import AtomicLocalBackend, load_checkpoint_file
    loader = CheckpointLoader._schemes['']
    backend = registry_utils.backends['local']
    applied = mmengine_patches.apply_mmengine_fixes()
    try:
        assert 'atomic_local_backend' in applied
        assert registry_utils.backends['local'] is AtomicLocalBackend
        if mmengine_patches._torch_loads_weights_only():
            assert CheckpointLoader._schemes[''] is load_checkpoint_file
        assert mmengine_patches.apply_mmengine_fixes() == applied  # idempotent
    finally:
        mmengine_patches.restore_mmengine()
    assert CheckpointLoader._schemes[''] is loader
    assert registry_utils.backends['local'] is backend


def test_own_training_applies_the_fixes_and_resumes(tmp_path, one_thread):
    from mmengine.fileio import get_file_backend
    from mmengine.runner.checkpoint import CheckpointLoader

    from mbv3.cli.train import main as train
    from mbv3.utils.checkpoint import AtomicLocalBackend, load_checkpoint_file
    work_dir = str(tmp_path / 'work')
    config = tiny_digits_config(tmp_path, str(tmp_path / 'digits'))

    def epochs(n):
        return ['--cfg-options', f'train_cfg.max_epochs={n}']

    train([config, '--work-dir', work_dir, *epochs(1)])
    assert isinstance(get_file_backend(work_dir), AtomicLocalBackend)
    if mmengine_patches._torch_loads_weights_only():
        assert CheckpointLoader._schemes[''] is load_checkpoint_file
    # resuming reads mmengine's own checkpoint (HistoryBuffer inside), which
    # mmengine 0.10.7's loader refuses on torch >= 2.6
    train([config, '--work-dir', work_dir, '--resume', *epochs(2)])
    first, second = (load_checkpoint_file(
        os.path.join(work_dir, f'epoch_{n}.pth'))['meta'] for n in (1, 2))
    assert (first['epoch'], second['epoch']) == (1, 2)
    assert second['iter'] == 2 * first['iter'] > 0


@pytest.mark.skipif(not mmengine_patches._pkg_resources_missing(),
                    reason='mmengine reads package configs itself here')
def test_package_config_reference_loads_once_fixed(tmp_path):
    # what `mbv3-train` does before it parses a config: mmengine 0.10.7
    # alone needs pkg_resources for `pkg::path` bases
    from mmengine.config import Config
    config = tmp_path / 'from_mmpretrain.py'
    config.write_text("_base_ = ['mmpretrain::_base_/models/mobilenet_v3/"
                      "mobilenet_v3_small_imagenet.py']\n")
    with pytest.raises(ModuleNotFoundError, match='pkg_resources'):
        Config.fromfile(str(config))
    mmengine_patches.apply_mmengine_fixes()
    backbone = Config.fromfile(str(config)).model.backbone
    assert (backbone.type, backbone.arch) == ('MobileNetV3', 'small')
