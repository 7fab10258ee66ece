"""Each visualization tool writes a non-empty PNG of the requested pixel
size; Grad-CAM and the confusion matrix compute the right numbers."""
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from mbv3.apis import init_model
from mbv3.evaluation import ConfusionMatrix
from mbv3.visualization import (grad_cam, load_image, plot_confusion_matrix,
                                read_scalars)
from mbv3.cli.vis_cam import main as vis_cam
from mbv3.cli.vis_curves import main as vis_curves
from mbv3.cli.vis_features import main as vis_features
from tests.conftest import DIGITS_CONFIG, data_root_options, run_tool


def assert_png(path, size):
    with Image.open(path) as image:
        assert image.format == 'PNG'
        assert image.size == tuple(size)
        pixels = np.asarray(image.convert('RGB'))
    assert pixels.std() > 5  # something was drawn


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = init_model(DIGITS_CONFIG)
    model.init_weights()
    for module in model.head.modules():
        if isinstance(module, torch.nn.Linear):
            # the head's N(0, 0.01) init makes near-tied scores, whose
            # argmax and top-k could break ties differently
            torch.nn.init.normal_(module.weight, std=0.5)
    path = str(tmp_path_factory.mktemp('ckpt') / 'digits.pth')
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(
                        classes=tuple(str(i) for i in range(10))))), path)
    return path


@pytest.fixture(scope='module')
def photo(tmp_path_factory, photos):
    import cv2
    path = str(tmp_path_factory.mktemp('photo') / 'chelsea.png')
    cv2.imwrite(path, photos[1][1][..., ::-1])
    return path


@pytest.fixture
def scalars(tmp_path):
    """A work dir with two runs (the second resumed), in mmengine's
    scalars.json format: training records by iteration, validation
    records by epoch."""
    runs = {
        '20260101_000000': [
            dict(lr=0.01, loss=2.3, time=0.1, epoch=1, iter=10, step=10),
            dict(lr=0.01, loss=1.7, time=0.1, epoch=1, iter=20, step=20),
            {'accuracy/top1': 40.0, 'accuracy/top5': 80.0, 'step': 1},
        ],
        '20260101_010000': [
            dict(lr=0.01, loss=1.1, time=0.1, epoch=2, iter=30, step=30),
            {'accuracy/top1': 70.0, 'accuracy/top5': 95.0, 'step': 2},
        ],
    }
    for stamp, records in runs.items():
        folder = tmp_path / stamp / 'vis_data'
        folder.mkdir(parents=True)
        (folder / 'scalars.json').write_text(''.join(
            json.dumps(r) + '\n' for r in records))
    return str(tmp_path)


def test_vis_features_png_size(checkpoint, photo, tmp_path):
    out = vis_features([DIGITS_CONFIG, checkpoint, photo,
                        str(tmp_path / 'f.png'), '--size', '640', '480',
                        '--input-size', '96', '--channels', '3'])
    assert_png(out, (640, 480))


def test_vis_cam_png_size(checkpoint, photo, tmp_path):
    out = vis_cam([DIGITS_CONFIG, checkpoint, photo,
                   str(tmp_path / 'c.png'), '--size', '401', '203',
                   '--input-size', '64', '--layer', '8', '--target', '3'])
    assert_png(out, (401, 203))


def test_vis_curves_tool_png_size(scalars, tmp_path):
    out = tmp_path / 'curves.png'
    proc = run_tool(os.path.join('visualization', 'vis_curves.py'), scalars,
                    str(out), '--size', '533', '211', timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_png(out, (533, 211))


def test_curves_merge_runs(scalars, tmp_path):
    train, val = read_scalars(
        [os.path.join(scalars, stamp, 'vis_data', 'scalars.json')
         for stamp in ('20260101_000000', '20260101_010000')])
    assert train == {'loss': {10: 2.3, 20: 1.7, 30: 1.1}}
    assert val['accuracy/top1'] == {1: 40.0, 2: 70.0}
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no <timestamp>'):
        vis_curves([str(tmp_path / 'empty'), str(tmp_path / 'x.png')])


def test_confusion_matrix_counts():
    pred = torch.tensor([0, 1, 1, 2, 2, 2])
    true = torch.tensor([0, 1, 2, 2, 2, 0])
    expected = [[1, 0, 1], [0, 1, 0], [0, 1, 2]]
    assert ConfusionMatrix.calculate(pred, true, 3).tolist() == expected
    with pytest.raises(ValueError, match=r'true labels must be in \[0, 2\)'):
        ConfusionMatrix.calculate(pred[:2], true[:2] + 1, 2)


def test_test_tool_writes_confusion_matrix(checkpoint, digits_subset,
                                           tmp_path):
    from mbv3.cli.test import main as test
    root, info = digits_subset
    out = str(tmp_path / 'cm.png')
    metrics = test([DIGITS_CONFIG, checkpoint, '--work-dir',
                    str(tmp_path / 'work'), '--confusion-matrix', out,
                    '--size', '450', '420', '--cfg-options',
                    *data_root_options(root)])
    matrix = metrics['confusion_matrix/result']
    assert matrix.shape == (10, 10)
    assert int(matrix.sum()) == info['val'] == 360
    # row t counts the validation images in folder val/<t>
    assert matrix.sum(1).tolist() == [
        len(os.listdir(os.path.join(root, 'val', str(t)))) for t in range(10)
    ]
    top1 = 100 * float(matrix.diag().sum()) / 360
    assert top1 == pytest.approx(metrics['accuracy/top1'], abs=1e-3)
    assert_png(out, (450, 420))


def test_png_size_is_checked(tmp_path):
    with pytest.raises(ValueError, match=r'size must be \(width, height\) '
                       r'in pixels, two ints >= 32, got \(10, 10\)'):
        plot_confusion_matrix(np.eye(3), str(tmp_path / 'm.png'),
                              size=(10, 10))
    with pytest.raises(ValueError, match='must end in .png'):
        plot_confusion_matrix(np.eye(3), str(tmp_path / 'm.jpg'))


def test_grad_cam_values(checkpoint, photo):
    model = init_model(DIGITS_CONFIG, checkpoint)
    inputs, image = load_image(model, photo, 64)
    assert inputs.shape == (1, 3, 64, 64) and image.shape == (64, 64, 3)
    cam, target, score = grad_cam(model, inputs, layer=8)
    logits = model(inputs, mode='tensor')
    assert target == int(logits.argmax())
    assert score == pytest.approx(float(logits.softmax(1).max()), rel=1e-5)
    assert cam.shape == (64, 64) and cam.dtype == np.float32
    assert cam.min() >= 0 and cam.max() == pytest.approx(1.0)
    assert all(p.grad is None for p in model.parameters())
    assert not model.training
    with pytest.raises(ValueError, match=r'target must be a class index in '
                       r'\[0, 9\], got 10'):
        grad_cam(model, inputs, target=10)
    with pytest.raises(ValueError, match=r'out_indices entry must be an int '
                       r'in \[-13, 12\] or .*, got 13'):
        grad_cam(model, inputs, layer=13)


def test_load_image_gives_a_one_channel_model_grayscale(gray_digits_config,
                                                        photo):
    model = init_model(gray_digits_config)
    inputs, image = load_image(model, photo)
    # the config's test pipeline resizes to 32 x 32; mean = std = 127.5
    assert inputs.shape == (1, 1, 32, 32) and image.shape == (32, 32, 3)
    assert inputs.min() >= -1.0 and inputs.max() <= 1.0
    assert np.array_equal(image[..., 0], image[..., 2])
    assert model(inputs, mode='tensor').shape == (1, 10)
