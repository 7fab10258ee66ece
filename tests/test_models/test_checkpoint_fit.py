"""A checkpoint that does not fit the model stops test and infer with one
line naming what differs (issue 26: one of another arch scored 9.72% top-1
and one of another class count 10.00%, both with exit code 0)."""
import os

import pytest
import torch
from mmengine.config import Config

from mbv3.apis import init_model
from mbv3.cli.test import main as evaluate
from mbv3.models.checkpoint_fit import CheckpointMismatchError
from tests.conftest import (DIGITS_CONFIG, data_root_options,
                            initial_checkpoint, run_tool)

DIGITS = tuple(str(i) for i in range(10))


def digits_config(**changes):
    """The digits recipe with ``arch`` or ``num_classes`` changed."""
    cfg = Config.fromfile(DIGITS_CONFIG)
    if 'arch' in changes:
        cfg.model.backbone.arch = changes['arch']
    if 'num_classes' in changes:
        cfg.model.head.num_classes = changes['num_classes']
    return cfg


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """Checkpoints saved as training saves them: of the digits recipe, of
    the same recipe with the large arch, and with 3 classes."""
    folder = tmp_path_factory.mktemp('ckpts')
    return dict(
        digits=initial_checkpoint(DIGITS_CONFIG, folder / 'digits.pth',
                                  DIGITS),
        large=initial_checkpoint(digits_config(arch='large'),
                                 folder / 'large.pth', DIGITS),
        three=initial_checkpoint(digits_config(num_classes=3),
                                 folder / 'three.pth', ('0', '1', '2')))


def test_init_model_names_another_arch(checkpoints):
    with pytest.raises(CheckpointMismatchError) as err:
        init_model(DIGITS_CONFIG, checkpoints['large'])
    message = str(err.value)
    assert '\n' not in message
    assert message.startswith(f"checkpoint {checkpoints['large']!r} does "
                              'not fit the model: backbone arch: '
                              "'large' in the checkpoint, 'small' in the "
                              'model; ')
    # small has 26 SE tensors where large has none, large 94 tensors in
    # its extra layers; the two share 146 keys of other widths
    assert '26 keys missing from the checkpoint' in message
    assert '94 unexpected keys' in message
    assert '146 tensors of another shape' in message
    assert message.endswith('use the config it was trained with, or load '
                            'only the tensors that fit with --partial-load '
                            '(strict=False in Python)')


def test_init_model_names_another_class_count(checkpoints):
    # the recipe leaves num_classes to the checkpoint's classes: set it
    with pytest.raises(CheckpointMismatchError,
                       match=r'does not fit the model: class count: 3 in the '
                       r'checkpoint, 10 in the model; 2 tensors of another '
                       r"shape \(e.g. 'head.layers.1.fc.bias'\); use"):
        init_model(digits_config(num_classes=10), checkpoints['three'])


def test_init_model_partial_load_keeps_what_fits(checkpoints):
    three = init_model(digits_config(num_classes=3), checkpoints['three'])
    model = init_model(digits_config(num_classes=10), checkpoints['three'],
                       strict=False)
    ours, theirs = model.state_dict(), three.state_dict()
    assert ours['head.layers.1.fc.weight'].shape == (10, 1024)
    fitting = [k for k in ours if ours[k].shape == theirs[k].shape]
    assert len(fitting) == len(ours) - 2
    for key in fitting:
        assert ours[key].equal(theirs[key]), key


def test_test_tool_stops_on_another_class_count(checkpoints, digits_subset,
                                                tmp_path):
    root, _ = digits_subset
    args = [DIGITS_CONFIG, checkpoints['three'], '--work-dir',
            str(tmp_path), '--cfg-options', *data_root_options(root),
            'test_dataloader.dataset.indices=20']
    with pytest.raises(CheckpointMismatchError,
                       match='class count: 3 in the checkpoint, 10 in the '
                       'model'):
        evaluate(args)
    # asked for, a partial load evaluates
    metrics = evaluate(args + ['--partial-load'])
    assert 0 <= metrics['accuracy/top1'] <= 100


def test_test_tool_another_arch_one_line_exit_1(checkpoints, digits_subset,
                                                tmp_path):
    root, _ = digits_subset
    out = run_tool('test.py', DIGITS_CONFIG, checkpoints['large'],
                   '--work-dir', str(tmp_path), '--cfg-options',
                   *data_root_options(root),
                   'test_dataloader.dataset.indices=20')
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines()
              if 'does not fit the model' in line]
    assert len(errors) == 1
    assert "backbone arch: 'large' in the checkpoint, 'small' in the " \
        'model' in errors[0]
    assert 'accuracy/top1' not in out.stdout + out.stderr


def test_fake_quantizers_take_the_checkpoint_shape():
    """A fake-quantizer's per-channel scales and observer ranges start with
    one value or none and take a QAT checkpoint's shape as they load: not a
    mismatch; the model's other tensors still are."""
    from torch import nn
    pytest.importorskip('torchao')
    from torchao.quantization.pt2e import (
        FakeQuantize, MovingAveragePerChannelMinMaxObserver)

    from mbv3.models.checkpoint_fit import describe_mismatch
    model = nn.Module()
    model.fq = FakeQuantize(MovingAveragePerChannelMinMaxObserver,
                            quant_min=-128, quant_max=127,
                            dtype=torch.qint8,
                            qscheme=torch.per_channel_symmetric)
    model.register_buffer('scale', torch.ones(2))
    trained = {k: torch.ones(8 if v.dim() else ()) if k.startswith('fq.')
               and k.split('.')[-1] in ('scale', 'zero_point', 'min_val',
                                        'max_val') else v
               for k, v in model.state_dict().items()}
    assert model.fq.scale.shape != trained['fq.scale'].shape
    assert describe_mismatch(model, trained) is None
    model.load_state_dict(trained)
    assert describe_mismatch(model, dict(trained, scale=torch.ones(3))) == (
        "1 tensors of another shape (e.g. 'scale')")
