import pytest
import torch
import torch.nn.functional as F

from mbv3.models.layers import ConvNormAct, Conv2dSame, same_padding


@pytest.mark.parametrize('size,kernel,stride,dilation,expected', [
    (224, 3, 2, 1, (0, 1)),  # TF 'SAME': the extra pixel goes at the end
    (225, 3, 2, 1, (1, 1)),
    (28, 5, 2, 1, (1, 2)),
    (14, 5, 1, 2, (4, 4)),
])
def test_same_padding(size, kernel, stride, dilation, expected):
    assert same_padding(size, kernel, stride, dilation) == expected


def test_conv2d_same_pads_asymmetrically_for_stride_2():
    torch.manual_seed(0)
    conv = Conv2dSame(3, 4, 3, stride=2, padding=1)
    x = torch.rand(1, 3, 224, 224)
    expected = F.conv2d(F.pad(x, (0, 1, 0, 1)), conv.weight, conv.bias, 2)
    out = conv(x)
    assert out.shape == (1, 4, 112, 112)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    symmetric = F.conv2d(x, conv.weight, conv.bias, 2, padding=1)
    assert (out - symmetric).abs().max() > 1e-3


def test_conv2d_same_by_conv_cfg_and_static_for_stride_1():
    layer = ConvNormAct(8, 8, 5, dilation=2, groups=8,
                        conv_cfg=dict(type='Conv2dSame'))
    assert isinstance(layer.conv, Conv2dSame)
    assert layer.conv.static and layer.conv.padding == (4, 4)
    assert layer(torch.rand(2, 8, 9, 9)).shape == (2, 8, 9, 9)
