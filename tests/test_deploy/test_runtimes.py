"""Every deployment runtime against eager on real photos at two sizes:
fp32 to 1e-4. A runtime whose package is missing is skipped, saying so."""
import os
import subprocess
import sys

import pytest
import torch

from mbv3.deploy import (compare_outputs, export_model, fixed_shape,
                         load_runner, missing_packages, sample_photos)
from mbv3.models.backbones import MobileNetV3
from mbv3.models.input_spec import InputSpec
from tests.conftest import REPO
from tests.test_models.test_classifiers.test_image_classifier import \
    randomise_bn

SIZES = (64, 96)


def _photos(size):
    """The four photos normalised with ImageNet's mean and std."""
    return sample_photos(InputSpec(3, size, size, (123.675, 116.28, 103.53),
                                   (58.395, 57.12, 57.375)))


def _skip_if_missing(runtime):
    reason = missing_packages(runtime)
    if reason is not None:
        print(f'skipping {runtime}: {reason}')
        pytest.skip(f'{runtime}: {reason}')


@pytest.fixture(scope='module')
def backbone():
    model = MobileNetV3('small').eval()
    model.init_weights()
    randomise_bn(model)
    return model


@pytest.mark.parametrize('runtime', ['onnxruntime', 'openvino'])
def test_dynamic_runtime_equals_eager_at_two_sizes(runtime, backbone,
                                                   tmp_path, one_thread):
    _skip_if_missing(runtime)
    ext = {'onnxruntime': '.onnx', 'openvino': '.xml'}[runtime]
    out = export_model(backbone, runtime, str(tmp_path / f'm{ext}'),
                       (1, 3, 64, 64))
    runner = load_runner(runtime, out, threads=1)
    for size in SIZES:
        assert runner(_photos(size)).shape == (4, 576, size // 32,
                                               size // 32)
        assert compare_outputs(backbone, runner, [_photos(size)])[
            'max_abs_diff'] <= 1e-4


@pytest.mark.slow
def test_executorch_equals_eager_at_two_sizes(backbone, tmp_path,
                                              one_thread):
    _skip_if_missing('executorch')
    assert fixed_shape('executorch')
    for size in SIZES:
        out = export_model(backbone, 'executorch',
                           str(tmp_path / f'm{size}.pte'),
                           (1, 3, size, size))
        runner = load_runner('executorch', out, batch=1)
        assert compare_outputs(backbone, runner, [_photos(size)])[
            'max_abs_diff'] <= 1e-4


def test_unknown_runtime_and_missing_package_messages(monkeypatch):
    with pytest.raises(ValueError, match=r"runtime must be one of "
                       r"\['executorch', 'onnxruntime', 'openvino'\], got "
                       r"'tensorrt'"):
        missing_packages('tensorrt')
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name: None if name == 'nncf' else real(name))
    assert missing_packages('openvino') == (
        'nncf is not installed (mbv3\'s deploy extra: pip install -e '
        '".[deploy]"; or pip install nncf)')
    with pytest.raises(ModuleNotFoundError,
                       match="runtime 'openvino': nncf is not installed"):
        export_model(torch.nn.Identity(), 'openvino', 'm.xml',
                     (1, 3, 8, 8))


def test_executorch_without_its_backends_gives_the_install_line(
        tmp_path, monkeypatch):
    """Issue 26: an ExecuTorch wheel without ``executorch.backends`` ended
    in "No module named 'executorch.backends'", with no install line."""
    import importlib
    import sys
    fake = tmp_path / 'site' / 'executorch'
    fake.mkdir(parents=True)
    (fake / '__init__.py').write_text('')
    (fake / 'exir').mkdir()
    (fake / 'exir' / '__init__.py').write_text('')
    monkeypatch.syspath_prepend(str(tmp_path / 'site'))
    for name in [m for m in sys.modules if m.split('.')[0] == 'executorch']:
        monkeypatch.delitem(sys.modules, name)
    importlib.invalidate_caches()
    install = ('pip install --no-deps executorch==1.5.1, then pip install '
               'flatbuffers "torchao>=0.18,<0.19" ruamel.yaml pyyaml '
               'tabulate sympy expecttest; see docs/deployment.md')
    assert missing_packages('executorch') == (
        'executorch.backends.xnnpack, executorch.runtime are not installed '
        f'({install})')
    with pytest.raises(ModuleNotFoundError, match=(
            r"runtime 'executorch': executorch.backends.xnnpack, "
            r'executorch.runtime are not installed \(pip install --no-deps '
            r'executorch==1.5.1')):
        export_model(torch.nn.Identity(), 'executorch', 'm.pte',
                     (1, 3, 8, 8))
    with pytest.raises(ModuleNotFoundError, match=install.split(',')[0]):
        load_runner('executorch', 'm.pte')


# Two OpenVINO runners used, dropped in the order they were made, then
# Ctrl-C: the process must get KeyboardInterrupt, not die of SIGSEGV.
DROP_TWO_RUNNERS_THEN_SIGINT = """
import gc, signal, sys
# Python's own handler, as in a terminal: a parent started in the
# background may hand SIGINT down ignored
signal.signal(signal.SIGINT, signal.default_int_handler)
import torch
from mbv3.deploy import export_model, load_runner
model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()).eval()
path = export_model(model, 'openvino', sys.argv[1], (1, 3, 16, 16))
first = load_runner('openvino', path, threads=1)
second = load_runner('openvino', path, threads=1)
first(torch.rand(1, 3, 16, 16)), second(torch.rand(1, 3, 16, 16))
del first
gc.collect()
del second
gc.collect()
try:
    # to this thread: os.kill may hand it to a runtime's thread, and the
    # script can end before the main thread sees it
    signal.raise_signal(signal.SIGINT)
except KeyboardInterrupt:
    print('KeyboardInterrupt')
"""


@pytest.mark.reliability(kind='OpenVINO', case='two runners dropped, then '
                         'SIGINT: KeyboardInterrupt, not SIGSEGV')
def test_dropped_openvino_runners_leave_signals_working(tmp_path):
    _skip_if_missing('openvino')
    proc = subprocess.run(
        [sys.executable, '-c', DROP_TWO_RUNNERS_THEN_SIGINT,
         str(tmp_path / 'm.xml')], capture_output=True, text=True,
        timeout=300, env=dict(os.environ, PYTHONPATH=REPO,
                              OMP_NUM_THREADS='1'))
    assert (proc.returncode, proc.stdout) == (0, 'KeyboardInterrupt\n'), \
        proc.stderr[-2000:]
