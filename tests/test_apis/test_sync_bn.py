"""SyncBN in a distributed config without a GPU runs as BN, with one
warning (issue 26); the 2-process run is in test_distributed.py."""
import warnings

import pytest
import torch
from mmengine.config import Config

from mbv3.apis.train import revert_sync_bn_without_gpu
from tests.conftest import DIGITS_CONFIG


def sync_bn_config(launcher):
    cfg = Config.fromfile(DIGITS_CONFIG)
    cfg.launcher = launcher
    cfg.model.head.num_classes = 10
    cfg.model.backbone.norm_cfg = dict(type='SyncBN', eps=1e-3,
                                       momentum=0.1, stats_mode='default')
    cfg.model.head.norm_cfg = dict(type='mmcv.SyncBN')
    return cfg


def test_distributed_cpu_config_runs_sync_bn_as_bn(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.delenv('RANK', raising=False)
    cfg = sync_bn_config('pytorch')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert revert_sync_bn_without_gpu(cfg) == 2
    assert [str(w.message) for w in caught] == [
        "no GPU: the config's 2 SyncBN norm config(s) run as BN (torch's "
        'SyncBatchNorm needs GPUs), so each process normalises over its own '
        "batch; set norm_cfg=dict(type='BN') to silence this"]
    assert cfg.model.backbone.norm_cfg == dict(type='BN', eps=1e-3,
                                               momentum=0.1)
    assert cfg.model.head.norm_cfg == dict(type='BN')
    # the built model holds no SyncBatchNorm
    from mbv3.registry import MODELS
    model = MODELS.build(cfg.model)
    assert not any(isinstance(m, torch.nn.SyncBatchNorm)
                   for m in model.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    # other ranks convert without a warning of their own
    monkeypatch.setenv('RANK', '1')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert revert_sync_bn_without_gpu(sync_bn_config('pytorch')) == 2
    assert caught == []


@pytest.mark.parametrize('launcher,cuda', [('none', False),
                                           ('pytorch', True)])
def test_sync_bn_kept_on_one_process_or_with_gpus(launcher, cuda,
                                                  monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    cfg = sync_bn_config(launcher)
    assert revert_sync_bn_without_gpu(cfg) == 0
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
