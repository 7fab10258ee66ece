"""int8 on real data: a digits model trained for 5 epochs (94-95% val
top-1), quantized by each runtime on the same fixed calibration subset.
Calibrating twice gives the same int8 model, and the top-1 change on the
360 val images stays within the bound measured here."""
import os

import numpy as np
import pytest
from mmengine.config import Config

from mbv3.apis import init_model
from mbv3.deploy import (calibration_batches, export_model, load_runner,
                         missing_packages, split_batches, top1_accuracy)
from tests.conftest import DIGITS_CONFIG, data_root_options, run_tool

pytestmark = pytest.mark.slow

# Measured with this fixture (the first 5 epochs of a 20-epoch cosine
# schedule, seed 0, 1 thread): the top-1
# change of each runtime's int8 model against its fp32 model, in points
# (-1, +1 and -2 of the 360 val images; OpenVINO with NNCF's full bias
# correction). docs/deployment.md's accuracy table gives the changes of
# the 20-epoch recipe model.
MEASURED_CHANGE = {'onnxruntime': -0.28, 'openvino': 0.28,
                   'executorch': -0.56}
# The bound asserted: the measured change, plus one image either way.
ONE_IMAGE = 100 / 360


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('digits'))
    work_dir = str(tmp_path_factory.mktemp('work'))
    out = run_tool('train.py', DIGITS_CONFIG, '--work-dir', work_dir,
                   '--cfg-options', *data_root_options(root),
                   'train_cfg.max_epochs=5', 'train_cfg.val_interval=5',
                   'param_scheduler.1.end=20',
                   env={'OMP_NUM_THREADS': '1'})
    assert out.returncode == 0, out.stderr[-3000:]
    cfg = Config.fromfile(DIGITS_CONFIG)
    cfg.merge_from_dict(dict(o.split('=') for o in data_root_options(root)))
    model = init_model(cfg, os.path.join(work_dir, 'epoch_5.pth'))
    calib = [inputs for inputs, _ in calibration_batches(model.cfg, model)]
    return model, calib, split_batches(model.cfg, model, 'val')


@pytest.mark.parametrize('runtime', ['onnxruntime', 'openvino',
                                     'executorch'])
def test_int8_is_deterministic_and_keeps_top1(runtime, request, tmp_path,
                                              one_thread):
    reason = missing_packages(runtime)
    if reason is not None:
        print(f'skipping {runtime}: {reason}')
        pytest.skip(f'{runtime}: {reason}')
    model, calib, val = request.getfixturevalue('trained')
    ext = {'onnxruntime': '.onnx', 'openvino': '.xml',
           'executorch': '.pte'}[runtime]
    shape = (1, 3, 32, 32)
    fp32 = load_runner(runtime, export_model(
        model, runtime, str(tmp_path / f'fp32{ext}'), shape), threads=1)
    int8 = [load_runner(runtime, export_model(
        model, runtime, str(tmp_path / f'int8_{i}{ext}'), shape, calib),
        threads=1) for i in (1, 2)]
    outputs = [run(val[0][0]) for run in int8]
    assert np.array_equal(outputs[0], outputs[1])
    change = top1_accuracy(int8[0], val) - top1_accuracy(fp32, val)
    print(f'{runtime} int8 top-1 change {change:+.2f} points')
    assert abs(change - MEASURED_CHANGE[runtime]) <= ONE_IMAGE + 1e-9
