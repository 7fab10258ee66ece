"""Hard activations of MobileNetV3 (Howard et al., 2019, Section 5.2).

Both run on PyTorch's native ``hardswish``/``hardsigmoid`` kernels, which
torch.compile, ONNX (opset >= 14) and TorchScript understand.
"""
import torch
import torch.nn.functional as F
from torch import nn

from mbv3.registry import MODELS
from .registered import registered_layer


@MODELS.register_module()
class HSwish(nn.Hardswish):
    """h-swish: ``x * ReLU6(x + 3) / 6`` (paper Eq. 2).

    Shape: any ``(*)`` to the same ``(*)``. Matches ``torch.nn.Hardswish``,
    which torchvision's ``mobilenet_v3_*`` use.

    Args:
        inplace (bool): Overwrite the input. Defaults to False.
    """


@MODELS.register_module()
class HSigmoid(nn.Module):
    """h-sigmoid: ``clamp((x + bias) / divisor, min_value, max_value)``.

    With the defaults this is ``ReLU6(x + 3) / 6`` (paper Section 5.2), run
    on ``torch.nn.functional.hardsigmoid``. The other arguments exist so that
    mmcv/mmpretrain configs such as ``dict(type='HSigmoid', bias=3.0,
    divisor=6.0)`` build unchanged; non-default values use the general
    formula. Unlike mmcv's ``HSigmoid``, building it emits no warning.

    Shape: any ``(*)`` to the same ``(*)``.

    Args:
        bias (float): Added before the division. Defaults to 3.
        divisor (float): Divides the biased input. Defaults to 6.
        min_value (float): Lower clamp. Defaults to 0.
        max_value (float): Upper clamp. Defaults to 1.
        inplace (bool): Overwrite the input (native path only).

    Raises:
        ValueError: If ``divisor`` is 0.
    """

    def __init__(self, bias: float = 3.0, divisor: float = 6.0,
                 min_value: float = 0.0, max_value: float = 1.0,
                 inplace: bool = False):
        super().__init__()
        if divisor == 0:
            raise ValueError('HSigmoid: divisor must be non-zero, got 0')
        self.bias, self.divisor = float(bias), float(divisor)
        self.min_value, self.max_value = float(min_value), float(max_value)
        self.inplace = inplace
        self.native = (self.bias, self.divisor, self.min_value,
                       self.max_value) == (3.0, 6.0, 0.0, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.native:
            return F.hardsigmoid(x, inplace=self.inplace)
        return ((x + self.bias) / self.divisor).clamp(self.min_value,
                                                      self.max_value)

    def extra_repr(self) -> str:
        if self.native:
            return f'inplace={self.inplace}' if self.inplace else ''
        return (f'bias={self.bias}, divisor={self.divisor}, '
                f'min_value={self.min_value}, max_value={self.max_value}')


_INPLACE_ACTS = (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU, HSigmoid)


def build_activation(cfg):
    """Build an activation from a config dict such as ``dict(type='HSwish')``.

    ``inplace=True`` is set by default where the layer supports it, as
    torchvision does.

    Args:
        cfg (dict | None): Activation config; None gives ``nn.Identity``.

    Returns:
        nn.Module: The activation layer.

    Raises:
        TypeError: If ``cfg`` is neither a dict nor None.
        KeyError: If ``cfg['type']`` is not registered.
    """
    if cfg is None:
        return nn.Identity()
    act_cls, cfg = registered_layer('act_cfg', cfg, none_ok=True)
    if isinstance(act_cls, type) and issubclass(act_cls, _INPLACE_ACTS):
        cfg.setdefault('inplace', True)
    return act_cls(**cfg)
