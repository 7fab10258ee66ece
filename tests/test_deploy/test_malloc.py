import subprocess
import sys

import pytest

from mbv3.deploy.malloc import preloaded_allocator, tune_allocator
from tests.conftest import DIGITS_CONFIG, REPO

# Minor page faults per eager forward of MobileNetV3-Small at batch 16,
# 224x224, after two warm-up forwards.
_FAULTS = """
import resource, sys, torch
from mbv3.models.backbones import MobileNetV3
from mbv3.deploy.malloc import tune_allocator
minor_page_faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(tune_allocator(sys.argv[1]))
model, x = MobileNetV3('small').eval(), torch.rand(16, 3, 224, 224)
with torch.inference_mode():
    model(x), model(x)
    before = minor_page_faults()
    model(x), model(x)
print((minor_page_faults() - before) // 2)
"""


def _faults(mode):
    proc = subprocess.run([sys.executable, '-c', _FAULTS, mode], cwd=REPO,
                          capture_output=True, text=True, timeout=120,
                          env={'PYTHONPATH': REPO, 'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stderr
    report, faults = proc.stdout.strip().splitlines()
    return report, int(faults)


def test_tuned_allocator_keeps_freed_memory():
    report, default = _faults('default')
    assert report == 'default (switched off: mode=default)'
    # glibc maps the large activation buffers afresh on each forward
    # (9,000-16,000 faults per forward measured here; tuned: 0-200)
    assert default > 5000
    report, tuned = _faults('tuned')
    assert report.startswith('glibc ') and 'trim threshold 2 GiB' in report
    assert tuned <= default / 10


def test_tune_allocator_rejects_unknown_modes(monkeypatch):
    with pytest.raises(ValueError, match=r"mode must be one of \('tuned', "
                       r"'default'\), got 'fast'"):
        tune_allocator('fast')
    monkeypatch.setenv('MBV3_MALLOC', 'off')
    with pytest.raises(ValueError, match="MBV3_MALLOC must be one of .* "
                       "got 'off'"):
        tune_allocator()
    monkeypatch.setenv('MBV3_MALLOC', 'default')
    assert tune_allocator() == 'default (switched off: MBV3_MALLOC=default)'


def test_preloaded_allocator_is_found_in_the_maps(tmp_path):
    maps = tmp_path / 'maps'
    maps.write_text('7f00 r-xp 00000000 08:01 1 /usr/lib/x86_64-linux-gnu/'
                    'libjemalloc.so.2\n')
    assert preloaded_allocator(str(maps)) == 'jemalloc'
    maps.write_text('7f00 r-xp 00000000 08:01 1 /usr/lib/libc.so.6\n')
    assert preloaded_allocator(str(maps)) is None
    assert preloaded_allocator(str(tmp_path / 'missing')) is None


def test_train_sets_the_allocator_up_first(monkeypatch, tmp_path):
    from mbv3.cli.train import main as train
    monkeypatch.setenv('MBV3_MALLOC', 'off')
    with pytest.raises(ValueError, match=r"MBV3_MALLOC must be one of "
                       r"\('tuned', 'default'\), got 'off'"):
        train([DIGITS_CONFIG, '--work-dir', str(tmp_path / 'work')])
    assert not (tmp_path / 'work').exists()
