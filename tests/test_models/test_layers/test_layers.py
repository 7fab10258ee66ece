import pytest
import torch
import torch.nn.functional as F

from mbv3.models.layers import (HSigmoid, HSwish, InvertedResidual, SELayer,
                                make_divisible)


def test_hswish_and_hsigmoid_formulas():
    x = torch.linspace(-5, 5, 101)
    torch.testing.assert_close(HSwish()(x), x * F.relu6(x + 3) / 6)
    torch.testing.assert_close(HSigmoid()(x), F.relu6(x + 3) / 6)
    # mmcv-style arguments with non-default values take the general path
    torch.testing.assert_close(
        HSigmoid(bias=1.0, divisor=2.0)(x), ((x + 1) / 2).clamp(0, 1))


def test_hsigmoid_rejects_zero_divisor():
    with pytest.raises(ValueError, match='divisor must be non-zero'):
        HSigmoid(divisor=0)


@pytest.mark.parametrize('value,expected', [
    (16 * 0.75, 16),  # 12 rounds up to 16 (10% rule)
    (44, 48),
    (36, 40),
    (960 * 0.5, 480),
    (3, 8),  # never below the divisor
])
def test_make_divisible(value, expected):
    assert make_divisible(value, 8) == expected


def test_make_divisible_rejects_bad_divisor():
    with pytest.raises(ValueError, match='divisor must be a positive int'):
        make_divisible(10, 0)


def test_se_layer_squeeze_width_and_shape():
    se = SELayer(72)
    # make_divisible(72 // 4, 8) = 24 (torchvision SqueezeExcitation)
    assert se.conv1.conv.out_channels == 24
    x = torch.rand(2, 72, 7, 9)
    assert se(x).shape == (2, 72, 7, 9)


def test_inverted_residual_structure():
    block = InvertedResidual(16, 16, 16, kernel_size=3, stride=1)
    assert not block.with_expand_conv and block.with_res_shortcut
    block = InvertedResidual(16, 24, 64, kernel_size=3, stride=2,
                             with_se=True)
    assert block.with_expand_conv and not block.with_res_shortcut
    assert hasattr(block, 'se')
    assert block(torch.rand(1, 16, 15, 15)).shape == (1, 24, 8, 8)


def test_inverted_residual_with_cp_same_outputs_and_grads():
    torch.manual_seed(0)
    block = InvertedResidual(24, 24, 72, kernel_size=5, with_se=True)
    block_cp = InvertedResidual(24, 24, 72, kernel_size=5, with_se=True,
                                with_cp=True)
    block_cp.load_state_dict(block.state_dict())
    x = torch.rand(2, 24, 14, 14, requires_grad=True)
    x_cp = x.detach().clone().requires_grad_()
    out, out_cp = block(x), block_cp(x_cp)
    torch.testing.assert_close(out, out_cp)
    out.square().sum().backward()
    out_cp.square().sum().backward()
    torch.testing.assert_close(x.grad, x_cp.grad)
    for p, p_cp in zip(block.parameters(), block_cp.parameters()):
        torch.testing.assert_close(p.grad, p_cp.grad)


def _residual_by_hand(block, x):
    """The bneck computed from its children, with an out-of-place add."""
    out = block.depthwise_conv(block.expand_conv(x))
    return x + block.linear_conv(block.se(out))


@pytest.mark.parametrize('context', [torch.no_grad, torch.inference_mode])
def test_inverted_residual_in_place_shortcut_equals_out_of_place(context):
    torch.manual_seed(0)
    block = InvertedResidual(24, 24, 72, kernel_size=5, with_se=True).eval()
    x = torch.randn(2, 24, 14, 14)
    x_before = x.clone()
    with torch.no_grad():
        expected = _residual_by_hand(block, x)
    with context():
        out = block(x)
    # bit-exact, the input left as it was, a new buffer returned
    assert torch.equal(out, expected)
    assert torch.equal(x, x_before)
    assert out.data_ptr() != x.data_ptr()


def test_inverted_residual_shortcut_gradients_with_grad_on():
    torch.manual_seed(0)
    block = InvertedResidual(24, 24, 72, kernel_size=5, with_se=True)
    x = torch.randn(2, 24, 14, 14, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    block(x).square().sum().backward()
    grads = [p.grad.clone() for p in block.parameters()]
    block.zero_grad()
    _residual_by_hand(block, x_ref).square().sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=0, atol=0)
    for grad, p in zip(grads, block.parameters()):
        torch.testing.assert_close(grad, p.grad, rtol=0, atol=0)
