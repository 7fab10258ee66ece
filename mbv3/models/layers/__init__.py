from .activations import HSigmoid, HSwish, build_activation
from .conv2d_same import Conv2dSame, same_padding
from .conv_norm_act import ConvNormAct, build_norm
from .inverted_residual import InvertedResidual
from .make_divisible import make_divisible
from .se_layer import SELayer

__all__ = [
    'HSigmoid', 'HSwish', 'build_activation', 'Conv2dSame', 'same_padding',
    'ConvNormAct', 'build_norm',
    'InvertedResidual', 'make_divisible', 'SELayer'
]
