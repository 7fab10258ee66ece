import os
import re

import numpy as np
import pytest

from mbv3.apis import init_model
from mbv3.deploy import export_onnx, onnx_session, run_onnx
from mbv3.models.backbones import MobileNetV3
from tests.conftest import DIGITS_CONFIG, run_tool, write_image_folder


def test_export_tool_matches_onnxruntime_on_photos(tmp_path):
    out = tmp_path / 'small.onnx'
    proc = run_tool('deployment/export_onnx.py', DIGITS_CONFIG, 'none',
                    str(out), '--fuse', '--shape', '64', '64')
    assert proc.returncode == 0, proc.stderr
    diff = float(re.search(r'on real photos: (\S+)', proc.stdout).group(1))
    assert diff <= 1e-4
    import onnx
    graph = onnx.load(str(out))
    assert graph.opset_import[0].version >= 17
    dims = graph.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ['batch', '', 'height', 'width']


def test_export_rejects_old_opset(tmp_path):
    with pytest.raises(ValueError, match='opset must be an int >= 17'):
        export_onnx(MobileNetV3('small'), str(tmp_path / 'm.onnx'), opset=13)


def test_int8_calibration_skips_and_lists_unreadable_files(tmp_path):
    from mmengine.config import Config

    from mbv3.datasets.data_root import apply_data_root, resolve_num_classes
    from mbv3.deploy import split_batches
    root = write_image_folder(tmp_path / 'tex', ('train', 'val'),
                              per_class=3)
    bad = os.path.join(root, 'train', 'grass', 'bad.png')
    with open(bad, 'w') as f:
        f.write('oops\n')
    cfg = apply_data_root(Config.fromfile(DIGITS_CONFIG), root,
                          str(tmp_path / 'work'))
    resolve_num_classes(cfg)
    model = init_model(cfg)
    skipped = []
    batches = split_batches(model.cfg, model, 'train', skipped=skipped)
    assert [len(labels) for _, labels in batches] == [6]
    assert [item['image'] for item in skipped] == [bad]
    assert skipped[0]['error'].startswith(f'cannot read image {bad!r}')


def test_export_tool_takes_the_input_from_a_one_channel_model(
        tmp_path, gray_digits_config):
    # Issue 11 input 8: the tool fed (1, 3, H, W) and 3-channel photos to a
    # 1-channel model and stopped with "... must have 1 channels".
    out = tmp_path / 'gray.onnx'
    proc = run_tool('deployment/export_onnx.py', gray_digits_config, 'none',
                    str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    diff = float(re.search(r'on real photos: (\S+)', proc.stdout).group(1))
    assert diff <= 1e-4
    import onnx
    dims = onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim
    assert dims[1].dim_value == 1
    session = onnx_session(str(out))
    logits = run_onnx(session, np.zeros((2, 1, 32, 32), np.float32))
    assert logits.shape == (2, 10)
