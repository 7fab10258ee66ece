"""Each visualization tool writes a non-empty PNG of the requested pixel
size; Grad-CAM equals Eqs. 1-2 of its paper worked out independently, and
the confusion matrix counts the predictions."""
import json
import os

import numpy as np
import pytest
import torch

from mbv3.apis import init_model
from mbv3.evaluation import ConfusionMatrix
from mbv3.registry import MODELS
from mbv3.visualization import (grad_cam, load_image, plot_confusion_matrix,
                                read_scalars)
from mbv3.cli.vis_cam import main as vis_cam
from mbv3.cli.vis_curves import main as vis_curves
from mbv3.cli.vis_features import main as vis_features
from tests.conftest import (DIGITS_CONFIG, assert_png, data_root_options,
                            run_tool)


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
    np.testing.assert_allclose(cam, split_grad_cam(model, inputs, 8, target),
                               atol=1e-5)
    assert all(p.grad is None for p in model.parameters())
    assert not model.training
    with pytest.raises(ValueError, match=r'target must be a class index in '
                       r'\[0, 9\], got 10'):
        grad_cam(model, inputs, target=10)
    with pytest.raises(ValueError, match=r'out_indices entry must be an int '
                       r'in \[-13, 12\] or .*, got 13'):
        grad_cam(model, inputs, layer=13)


def normalised_cam(weights, act, size):
    """Eq. 2: ReLU of the channel maps weighted by ``weights`` ``(C,)``,
    bilinearly upsampled to ``size`` and scaled to a peak of 1."""
    cam = torch.relu(torch.einsum('c,nchw->nhw', weights, act))[None]
    cam = torch.nn.functional.interpolate(cam, size=size, mode='bilinear',
                                          align_corners=False)[0, 0]
    return (cam / cam.max()).detach().numpy()


def split_grad_cam(model, inputs, layer, target):
    """Grad-CAM with the network cut in two at ``layer``: the activations
    become a leaf tensor and ``torch.autograd.grad`` of the class score
    gives Eq. 1's gradients (no hooks, no retained grads)."""
    backbone = model.backbone
    names = [f'layer{i}' for i in range(len(backbone.layer_specs))]
    x = inputs
    for name in names[:layer + 1]:
        x = getattr(backbone, name)(x)
    act = x.detach().requires_grad_(True)
    y = act
    for name in names[layer + 1:]:
        y = getattr(backbone, name)(y)
    score = model.head(model.neck((y, )))[0, target]
    (grad, ) = torch.autograd.grad(score, act)
    return normalised_cam(grad.mean((0, 2, 3)), act, inputs.shape[2:])


def test_grad_cam_of_a_linear_head_by_hand():
    # With global pooling and one linear layer after the last backbone
    # layer, d y_c / d A_k(i, j) = W[c, k] / (H W): Eq. 1's weights are
    # W[c] / (H W), and the normalised map is ReLU(sum_k W[c, k] A_k).
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='MobileNetV3', arch='small_minimal'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='StackedLinearClsHead', num_classes=5,
                  in_channels=576, mid_channels=[]))).eval()
    inputs = torch.rand(1, 3, 96, 96)
    cam, target, _ = grad_cam(model, inputs, layer=-1, target=2)
    (act, ) = model.backbone(inputs)
    assert act.shape == (1, 576, 3, 3)
    weights = model.head.layers[-1].fc.weight[target]
    np.testing.assert_allclose(cam, normalised_cam(weights, act, (96, 96)),
                               atol=1e-5)


def test_load_image_gives_a_one_channel_model_grayscale(gray_digits_config,
                                                        photo):
    model = init_model(gray_digits_config)
    inputs, image = load_image(model, photo)
    # the config's test pipeline resizes to 32 x 32; mean = std = 127.5
    assert inputs.shape == (1, 1, 32, 32) and image.shape == (32, 32, 3)
    assert inputs.min() >= -1.0 and inputs.max() <= 1.0
    assert np.array_equal(image[..., 0], image[..., 2])
    assert model(inputs, mode='tensor').shape == (1, 10)
