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


@pytest.fixture(scope='module')
def large_logit_checkpoint(tmp_path_factory):
    """The digits recipe with its seeded initial weights, the classifier's
    weights scaled so the logits on the check photos reach about 1000, as
    a trained model's do (issue 26: 1362 after one epoch)."""
    import torch

    from mbv3.deploy import sample_photos
    from mbv3.models.input_spec import input_spec
    torch.manual_seed(0)
    model = init_model(DIGITS_CONFIG)
    model.init_weights()
    with torch.no_grad():
        largest = model(sample_photos(input_spec(model, (64, 64)))).abs().max()
        model.head.layers[-1].fc.weight.mul_(1000 / largest)
        model.head.layers[-1].fc.bias.mul_(1000 / largest)
    path = str(tmp_path_factory.mktemp('ckpt') / 'large_logits.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=dict(
        classes=tuple(str(i) for i in range(10))))), path)
    return path


@pytest.mark.parametrize('fuse', [False, True])
def test_export_checks_large_logits_on_their_scale(large_logit_checkpoint,
                                                   fuse, tmp_path, capsys):
    """Issue 26: float rounding at logits of ~1000 exceeds an absolute
    1e-4, and the export stopped."""
    from mbv3.cli.export_onnx import main as export_onnx_main
    args = [DIGITS_CONFIG, large_logit_checkpoint,
            str(tmp_path / 'm.onnx'), '--shape', '64', '64']
    report = export_onnx_main(args + ['--fuse'] * fuse)
    comparison = report['comparison']
    assert 1000 <= comparison['largest'] < 2000  # 64x64 and 81x73
    # over the old absolute bound, within 1e-4 of the logits' scale
    assert 1e-4 < comparison['max_abs_diff'] <= 1e-4 * comparison['largest']
    assert comparison['top1_agree'] == comparison['images'] == 8
    printed = capsys.readouterr().out
    assert re.search(r'max \|eager - onnxruntime\| \S+ against \S+ allowed '
                     r'\(0.0001 x max\(1, largest \|eager output\| \S+\)\); '
                     r'top-1 agrees on 8/8 check photos', printed)


def test_compare_outputs_bounds_the_difference_on_the_logits_scale():
    import torch

    from mbv3.deploy.checks import compare_outputs, describe_comparison
    logits = torch.tensor([[1000.0, 999.99, 0.0], [-5.0, 400.0, 3.0]])
    model = torch.nn.Identity()
    x = [logits]
    shift = np.array([[0.0, 0.0, 0.05], [0.0, 0.05, 0.0]], np.float32)
    close = compare_outputs(model, lambda t: t.numpy() + shift, x)
    assert close['ok'] and close['tolerance'] == pytest.approx(0.1)
    assert close['top1_agree'] == 2
    # 0.15 > 1e-4 x 1000
    far = compare_outputs(model, lambda t: t.numpy() + 3 * shift, x)
    assert not far['ok'] and far['top1_agree'] == 2
    assert describe_comparison(far, 'rt') == (
        'max |eager - rt| 0.15 against 0.1 allowed (0.0001 x max(1, largest '
        '|eager output| 1000)); top-1 agrees on 2/2 check photos')
    # within the tolerance, but the near tie of image 0 flips
    flipped = compare_outputs(
        model, lambda t: t.numpy() + np.float32([[0, 0.05, 0], [0, 0, 0]]), x)
    assert flipped['max_abs_diff'] <= flipped['tolerance']
    assert not flipped['ok'] and flipped['top1_agree'] == 1
    # below 1 the bound is absolute, 1e-4
    small = compare_outputs(model, lambda t: t.numpy() * 1.002,
                            [logits / 2000])
    assert small['tolerance'] == 1e-4 and not small['ok']
