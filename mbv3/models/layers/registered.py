"""The one lookup behind every layer config (``conv_cfg``, ``norm_cfg``,
``act_cfg``): a ``dict(type=..., **kwargs)`` -> the registered class and
its keyword arguments, with one error message for each mistake."""
from typing import Tuple

from torch import nn

from mbv3.registry import MODELS

# torch's layers under the names mmcv/mmpretrain configs use.
TORCH_LAYERS = {
    'Conv': nn.Conv2d, 'Conv2d': nn.Conv2d,
    'BN': nn.BatchNorm2d, 'BN1d': nn.BatchNorm1d, 'BN2d': nn.BatchNorm2d,
    'SyncBN': nn.SyncBatchNorm, 'GN': nn.GroupNorm, 'IN': nn.InstanceNorm2d,
    'ReLU': nn.ReLU, 'ReLU6': nn.ReLU6, 'Hardswish': nn.Hardswish,
    'Hardsigmoid': nn.Hardsigmoid, 'SiLU': nn.SiLU, 'GELU': nn.GELU,
}
for _name, _layer in TORCH_LAYERS.items():
    MODELS.register_module(name=_name, module=_layer)


def registered_layer(name: str, cfg, none_ok: bool = False
                     ) -> Tuple[type, dict]:
    """The class ``cfg['type']`` names in :data:`mbv3.registry.MODELS` (or
    the class itself), and the rest of ``cfg``.

    Args:
        name (str): The argument, for messages: 'conv_cfg', 'norm_cfg',
            'act_cfg'.
        cfg (dict): The layer config.
        none_ok (bool): Whether the caller also accepts None (said in the
            message).

    Returns:
        tuple[type, dict]: The class and its keyword arguments.

    Raises:
        TypeError: If ``cfg`` is not a dict with a 'type' key.
        KeyError: If the type is not registered.
    """
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f"{name} must be a dict with a 'type' key"
                        f"{' or None' if none_ok else ''}, got {cfg!r}")
    cfg = dict(cfg)
    layer_type = cfg.pop('type')
    layer_cls = MODELS.get(layer_type) if isinstance(layer_type, str) \
        else layer_type
    if layer_cls is None:
        raise KeyError(f'{name} type {layer_type!r} is not registered in '
                       'mbv3.registry.MODELS')
    return layer_cls, cfg
