"""AmpOptimWrapper: bf16 autocast on CPU, fp16 with loss scaling on CUDA."""
import pytest
import torch
from torch import nn

from mbv3.engine import AmpOptimWrapper


def make(dtype, device='cpu', **kwargs):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, groups=1), nn.Flatten(),
                          nn.LazyLinear(2)).to(device)
    model(torch.rand(1, 3, 8, 8, device=device))
    wrapper = AmpOptimWrapper(
        dtype=dtype, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        **kwargs)
    return model, wrapper


def step(model, wrapper, device='cpu'):
    with wrapper.optim_context(model):
        out = model(torch.rand(4, 3, 8, 8, device=device))
    wrapper.update_params(out.float().pow(2).mean())
    return out.dtype


def test_bf16_on_cpu_autocasts_and_updates():
    model, wrapper = make('bfloat16')
    before = model[0].weight.detach().clone()
    assert step(model, wrapper) == torch.bfloat16
    assert model[0].weight.dtype == torch.float32  # master weights stay fp32
    assert not torch.equal(model[0].weight, before)


def test_bad_dtype_and_cpu_fp16_are_refused():
    with pytest.raises(ValueError, match="'bfloat16' or 'float16', got"):
        make('float32')
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='float16 needs CUDA'):
            make('float16')


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('loss_scale', ['dynamic', 512.0])
def test_fp16_on_cuda_scales_the_loss(loss_scale):
    model, wrapper = make('float16', 'cuda', loss_scale=loss_scale)
    assert step(model, wrapper, 'cuda') == torch.float16
    scale = wrapper.state_dict()['loss_scaler']['scale']
    # dynamic starts at torch's 2**16 and does not grow after one step
    assert scale == (2.0**16 if loss_scale == 'dynamic' else 512.0)
