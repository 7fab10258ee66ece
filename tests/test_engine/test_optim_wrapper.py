"""AmpOptimWrapper: bf16 autocast on CPU, fp16 with loss scaling on CUDA.

fp16 autocast needs CUDA here (the wrapper refuses it on CPU), so the
fp16 run is a ``cuda`` test; its loss-scaling logic (scaled backward,
unscale before clipping, skipped steps, dynamic and fixed scales, state)
does not depend on the dtype and is tested on CPU with torch's CPU
``GradScaler``."""
import pytest
import torch
from torch import nn

from mbv3.engine import AmpOptimWrapper
from mbv3.engine.optim_wrapper import grad_scaler


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


def scaled(loss_scale, clip_grad=None):
    """An fp32 model whose wrapper scales the loss with torch's CPU
    ``GradScaler``, and an identical model trained with plain SGD."""
    torch.manual_seed(0)
    model, reference = nn.Linear(3, 2), nn.Linear(3, 2)
    reference.load_state_dict(model.state_dict())
    wrapper = AmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        clip_grad=clip_grad)
    # the scaler the fp16 path builds for CUDA, here for the CPU
    wrapper.loss_scaler, wrapper._static_scale = grad_scaler('cpu',
                                                             loss_scale)
    return model, wrapper, reference


def sgd_step(model, x, clip=None):
    model(x).pow(2).mean().backward()
    if clip is not None:
        nn.utils.clip_grad_norm_(model.parameters(), clip)
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    model.zero_grad()


@pytest.mark.parametrize('loss_scale', ['dynamic', 512.0])
def test_loss_scaling_steps_like_unscaled_sgd(loss_scale):
    model, wrapper, reference = scaled(loss_scale)
    x = torch.rand(4, 3)
    loss = model(x).pow(2).mean()
    wrapper.backward(loss)
    plain = torch.autograd.grad(reference(x).pow(2).mean(),
                                reference.weight)[0]
    scale = 2.0**16 if loss_scale == 'dynamic' else 512.0
    torch.testing.assert_close(model.weight.grad, scale * plain)
    wrapper.step()
    wrapper.zero_grad()
    sgd_step(reference, x)
    torch.testing.assert_close(model.weight, reference.weight)
    assert wrapper.loss_scaler.get_scale() == scale


def test_clipping_sees_unscaled_gradients():
    model, wrapper, reference = scaled('dynamic',
                                       clip_grad=dict(max_norm=0.01))
    x = torch.rand(4, 3) * 10
    wrapper.update_params(model(x).pow(2).mean())
    sgd_step(reference, x, clip=0.01)
    torch.testing.assert_close(model.weight, reference.weight)


@pytest.mark.parametrize('loss_scale,after', [('dynamic', 2.0**15),
                                              (512.0, 512.0)])
def test_inf_gradient_skips_the_step(loss_scale, after):
    model, wrapper, _ = scaled(loss_scale)
    before = model.weight.detach().clone()
    wrapper.update_params(model(torch.full((1, 3), float('inf'))).sum())
    assert torch.equal(model.weight, before)  # step skipped
    # dynamic: halved; fixed: kept
    assert wrapper.loss_scaler.get_scale() == after
    state = wrapper.state_dict()
    assert state['loss_scaler']['scale'] == after
    _, fresh, _ = scaled(loss_scale)
    fresh.load_state_dict(state)
    assert fresh.loss_scaler.get_scale() == after
