import re

import pytest

from mbv3.deploy import export_onnx
from mbv3.models.backbones import MobileNetV3
from tests.conftest import DIGITS_CONFIG, run_tool


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
