"""QATHook, the config switch of quantization-aware training: a tiny real
fine-tune of the digits QAT recipe from a float checkpoint through the
Runner, whose checkpoint tests again and converts to the int8 model of
the trained one."""
import copy
import os

import pytest
import torch

from mbv3.apis import init_model
from mbv3.cli.train import build_config, parse_args
from mbv3.deploy.checks import sample_photos
from mbv3.engine.hooks import QATHook, qat_meta
from mbv3.models.input_spec import input_spec
from mbv3.models.quantization import convert
from tests.conftest import REPO, data_root_options, initial_checkpoint

pytest.importorskip('torchao')

QAT_CONFIG = os.path.join(REPO, 'configs', 'mobilenet_v3',
                          'mobilenet-v3-small_digits_qat.py')


def _config(root, work_dir, load_from):
    # 32 images at 16x16, batch 16, 2 epochs: 4 iterations; BN and
    # observers frozen from the second epoch
    args = parse_args([
        QAT_CONFIG, '--work-dir', work_dir, '--cfg-options',
        *data_root_options(root), f'load_from={load_from}',
        'data_preparation.train_subset=0.1', 'train_dataloader.batch_size=16',
        'train_dataloader.dataset.indices=32',
        'train_dataloader.dataset.pipeline.1.scale=16',
        'val_dataloader.dataset.pipeline.1.scale=[16,16]',
        'test_dataloader.dataset.pipeline.1.scale=[16,16]',
        'train_cfg.max_epochs=2',
        'custom_hooks.0.freeze_bn_epoch=1',
        'custom_hooks.0.freeze_observer_epoch=1'])
    return build_config(args)


@pytest.fixture(scope='module')
def qat_run(digits_subset, tmp_path_factory, one_thread):
    from mmengine.runner import Runner
    root, info = digits_subset
    work_dir = str(tmp_path_factory.mktemp('qat'))
    cfg = _config(root, work_dir, 'None')
    fp32 = initial_checkpoint(cfg, os.path.join(work_dir, 'fp32.pth'),
                              [str(c) for c in range(10)])
    cfg = _config(root, work_dir, fp32)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner, cfg, fp32, os.path.join(work_dir, 'epoch_2.pth')


def test_training_prepares_freezes_and_marks_the_checkpoint(qat_run):
    runner, _, fp32, last = qat_run
    model = runner.model
    from torchao.quantization.pt2e import FakeQuantizeBase
    assert isinstance(model.backbone, torch.fx.GraphModule)
    fakes = [m for m in model.modules() if isinstance(m, FakeQuantizeBase)]
    assert fakes and all(int(m.observer_enabled) == 0 for m in fakes)
    # BN statistics frozen in the training graph: batch_norm(training=False)
    model.train()
    hook = next(h for h in runner.hooks if isinstance(h, QATHook))
    hook.before_train_iter(runner, 0)
    norms = [n for n in model.backbone.graph.nodes
             if n.target is torch.ops.aten.batch_norm.default]
    assert norms and not any(n.args[5] for n in norms)
    assert qat_meta(last) == dict(mode='qat', backend='x86', recipe='pt2e')
    assert qat_meta(fp32) is None
    # the optimizer stepped the fused modules' weights, loaded from fp32
    key = 'backbone.layer0.conv.weight'
    start = torch.load(fp32, weights_only=False)['state_dict'][key]
    assert start.shape == model.backbone.layer0.conv.weight.shape
    assert not torch.equal(start, model.backbone.layer0.conv.weight.detach())


def test_checkpoint_tests_and_converts_again(qat_run):
    from mmengine.runner import Runner
    runner, cfg, _, last = qat_run
    validated = runner.val_loop.run()
    cfg.load_from = last
    tested = Runner.from_cfg(cfg).test()
    assert tested['accuracy/top1'] == validated['accuracy/top1']
    model = init_model(cfg, last)
    x = sample_photos(input_spec(model, (16, 16)))
    runner.model.eval()
    expected = runner.model(x).detach()
    torch.testing.assert_close(model(x).detach(), expected)
    # the int8 model of the checkpoint is the one of the trained model
    with torch.no_grad():
        int8 = convert(copy.deepcopy(runner.model))(x)
        assert int8.shape == (4, 10)
        torch.testing.assert_close(convert(model)(x), int8)


@pytest.mark.parametrize('kwargs, message', [
    (dict(backend='arm'), "backend must be one of .*got 'arm'"),
    (dict(backend='qnnpack'), "got 'qnnpack' .*retired"),
    (dict(freeze_bn_epoch=-1), 'freeze_bn_epoch must be None or an int >= '
     '0.*got -1'),
    (dict(freeze_observer_epoch=1.5), 'freeze_observer_epoch must be None '
     'or an int >= 0.*got 1.5'),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        QATHook(**kwargs)


def test_training_without_load_from_warns(monkeypatch):
    from types import SimpleNamespace
    records = []
    logger = SimpleNamespace(warning=records.append)
    hook = QATHook()
    monkeypatch.setattr(hook, '_prepare', lambda runner: None)
    hook.before_train(SimpleNamespace(_load_from=None, logger=logger))
    assert len(records) == 1 and 'QAT: no load_from' in records[0]
    hook.before_train(SimpleNamespace(_load_from='fp32.pth', logger=logger))
    assert len(records) == 1
