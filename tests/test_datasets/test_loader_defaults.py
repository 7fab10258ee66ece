import pytest
from mmengine.config import Config

from mbv3.datasets.loader import (MAX_WORKERS, PREFETCH_FACTOR,
                                  apply_loader_defaults, default_num_workers)


@pytest.mark.parametrize('cores, gpus, workers', [
    (2, 0, 0),    # this project's CPU: loading in the main process
    (4, 0, 0),
    (16, 0, 4),   # a big CPU box: a quarter of the cores
    (64, 0, MAX_WORKERS),
    (16, 1, MAX_WORKERS),  # a 16-core GPU box gets workers
    (16, 8, 1),   # 2 cores per GPU: one for the loop, one worker
    (6, 1, 5),
    (1, 1, 0),
])
def test_default_num_workers(cores, gpus, workers):
    assert default_num_workers(cores, gpus) == workers


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match='cores=0, cuda_devices=1'):
        default_num_workers(0, 1)


def config():
    return Config(dict(
        train_dataloader=dict(batch_size=2),
        val_dataloader=dict(batch_size=2, num_workers=3,
                            persistent_workers=False),
        test_dataloader=None))


def test_gpu_box_gets_workers_and_pinned_memory():
    cfg = config()
    apply_loader_defaults(cfg, cores=16, cuda_devices=1)
    assert cfg.train_dataloader == dict(
        batch_size=2, num_workers=MAX_WORKERS, persistent_workers=True,
        prefetch_factor=PREFETCH_FACTOR, pin_memory=True)
    # what the config sets is kept
    assert cfg.val_dataloader.num_workers == 3
    assert cfg.val_dataloader.persistent_workers is False
    assert cfg.test_dataloader is None


def test_small_cpu_loads_in_the_main_process():
    cfg = config()
    apply_loader_defaults(cfg, cores=2, cuda_devices=0)
    assert cfg.train_dataloader == dict(batch_size=2, num_workers=0,
                                        persistent_workers=False)


def test_machine_is_read_when_not_given(monkeypatch):
    monkeypatch.setattr('mbv3.datasets.loader.available_cores', lambda: 16)
    monkeypatch.setattr('torch.cuda.device_count', lambda: 2)
    cfg = config()
    apply_loader_defaults(cfg)
    assert cfg.train_dataloader.num_workers == 7
    assert cfg.train_dataloader.pin_memory is True
