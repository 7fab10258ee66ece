import torch
from mmengine.config import Config

from mbv3.apis import init_model

CONFIG = 'configs/mobilenet_v3/mobilenet-v3-small_digits_bf16-channels-last.py'


def test_config_exposes_channels_last_and_autocast():
    cfg = Config.fromfile(CONFIG)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    model = init_model(cfg)
    images = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)] * 2
    batch = model.data_preprocessor(dict(inputs=images), True)['inputs']
    assert batch.shape == (2, 3, 32, 32)
    assert batch.is_contiguous(memory_format=torch.channels_last)
    assert not batch.is_contiguous()
