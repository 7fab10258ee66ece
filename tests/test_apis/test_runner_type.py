"""``runner_type`` in a config selects the Runner: the docs' FSDP config
builds mmengine's FlexibleRunner with an FSDP strategy, and training hands
the model to torch's FullyShardedDataParallel."""
import os
import socket

import pytest
import torch
import torch.distributed as dist

from mbv3.apis.train import build_runner, build_train_config
from tests.test_apis.test_kill_resume import tiny_digits_config


@pytest.fixture
def one_process_group(monkeypatch):
    """The variables torchrun sets for a 1-process job on loopback."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = str(s.getsockname()[1])
    for key, value in dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0',
                           MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=port).items():
        monkeypatch.setenv(key, value)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='on CPU only: FSDP refuses to wrap CPU modules')
def test_fsdp_runner_type_builds_flexible_runner_and_reaches_fsdp(
        tmp_path, one_process_group, mmengine_fixes):
    from mmengine._strategy import FSDPStrategy
    from mmengine.runner import FlexibleRunner
    config = tiny_digits_config(tmp_path, str(tmp_path / 'digits'))
    # the docs' "Sharded training (FSDP)" lines
    cfg = build_train_config(
        config, work_dir=str(tmp_path / 'work'), launcher='pytorch',
        cfg_options=dict(runner_type='FlexibleRunner',
                         strategy=dict(type='FSDPStrategy')))
    runner = build_runner(cfg)
    assert type(runner) is FlexibleRunner
    assert type(runner.strategy) is FSDPStrategy
    # there is no accelerator here: torch's FSDP itself refuses the model
    with pytest.raises(RuntimeError) as err:
        runner.train()
    assert any(f'torch{os.sep}distributed{os.sep}fsdp' in str(entry.path)
               for entry in err.traceback), err.getrepr()
