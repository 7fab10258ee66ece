"""Global average pooling neck."""
import torch
from torch import nn

from mbv3.registry import MODELS


@MODELS.register_module()
class GlobalAveragePooling(nn.Module):
    """Average each feature map over its spatial size (mmpretrain's
    ``GlobalAveragePooling``).

    Shape: tuple of ``(N, C_i, H_i, W_i)`` -> tuple of ``(N, C_i)``; a bare
    tensor gives a bare tensor.

    Args:
        dim (int): 2 for ``(N, C, H, W)`` inputs (the only one supported).

    Raises:
        ValueError: If ``dim`` is not 2.
    """

    def __init__(self, dim: int = 2):
        super().__init__()
        if dim != 2:
            raise ValueError(f'GlobalAveragePooling dim must be 2, got {dim}')

    def forward(self, inputs):
        if isinstance(inputs, tuple):
            return tuple(x.mean((2, 3)) for x in inputs)
        if isinstance(inputs, torch.Tensor):
            return inputs.mean((2, 3))
        raise TypeError(f'GlobalAveragePooling takes a Tensor or a tuple of '
                        f'Tensors, got {type(inputs).__name__}')
