"""Conv -> norm -> activation, the unit every MobileNetV3 layer is made of."""
from torch import nn

from .activations import build_activation
from .registered import registered_layer

# Attribute names mmcv's ConvModule gives the norm layer; they are part of
# the state-dict keys of mmpretrain/mmseg checkpoints.
_NORM_ABBR = {nn.GroupNorm: 'gn', nn.InstanceNorm2d: 'in', nn.LayerNorm: 'ln'}


def build_norm(cfg, num_features):
    """Build a norm layer from ``dict(type='BN', eps=..., momentum=...)``.

    Types are looked up in :data:`mbv3.registry.MODELS` ('BN', 'SyncBN',
    'GN' with ``num_groups``, 'IN', or any registered class).

    Args:
        cfg (dict): Norm config. ``requires_grad=False`` freezes the affine
            parameters, as in mmcv.
        num_features (int): Channels ``C`` of the ``(N, C, H, W)`` input.

    Returns:
        tuple[str, nn.Module]: mmcv's attribute name ('bn', 'gn', ...) and
        the layer.

    Raises:
        TypeError: If ``cfg`` is not a dict with a 'type' key.
        KeyError: If the type is not registered.
    """
    norm_cls, cfg = registered_layer('norm_cfg', cfg)
    requires_grad = cfg.pop('requires_grad', True)
    if issubclass(norm_cls, nn.GroupNorm):
        layer = norm_cls(num_channels=num_features, **cfg)
    else:
        layer = norm_cls(num_features, **cfg)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    name = next((abbr for cls, abbr in _NORM_ABBR.items()
                 if issubclass(norm_cls, cls)), 'bn')
    return name, layer


def build_conv(cfg, *args, **kwargs):
    """Build a conv layer; ``cfg=None`` means ``nn.Conv2d``.

    Raises:
        TypeError: If ``cfg`` is neither None nor a dict with a 'type' key.
        KeyError: If the type is not registered.
    """
    if cfg is None:
        return nn.Conv2d(*args, **kwargs)
    conv_cls, cfg = registered_layer('conv_cfg', cfg, none_ok=True)
    return conv_cls(*args, **kwargs, **cfg)


class ConvNormAct(nn.Sequential):
    """``conv -> norm -> act``, with mmcv ``ConvModule``'s child names.

    The children are ``conv``, the norm (``bn``/``gn``/...) and ``activate``,
    so state-dict keys equal those of mmcv's ``ConvModule`` and mmpretrain's
    checkpoints load unchanged. Being a plain ``nn.Sequential`` keeps the
    forward free of Python branches (cheap in eager mode, no graph breaks
    under ``torch.compile``). A missing norm or activation is simply not
    added; the conv then has a bias.

    Shape: ``(N, in_channels, H, W) -> (N, out_channels, H', W')`` with
    ``H' = floor((H + 2 * padding - dilation * (kernel_size - 1) - 1) /
    stride) + 1``.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Conv kernel size. Defaults to 1.
        stride (int): Conv stride. Defaults to 1.
        padding (int | None): Padding in pixels; None gives
            ``dilation * (kernel_size - 1) // 2`` ("same" for stride 1).
        dilation (int): Conv dilation. Defaults to 1.
        groups (int): Conv groups (``in_channels`` for depthwise).
        conv_cfg (dict, optional): Conv config; None is ``nn.Conv2d``.
        norm_cfg (dict, optional): Norm config; None adds no norm.
        act_cfg (dict, optional): Activation config; None adds none.
        bias (bool | None): Conv bias; None gives a bias iff there is no
            norm.
    """

    def __init__(self, in_channels, out_channels, kernel_size=1, stride=1,
                 padding=None, dilation=1, groups=1, conv_cfg=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'),
                 bias=None):
        super().__init__()
        if padding is None:
            padding = dilation * (kernel_size - 1) // 2
        if bias is None:
            bias = norm_cfg is None
        self.add_module(
            'conv',
            build_conv(conv_cfg, in_channels, out_channels, kernel_size,
                       stride=stride, padding=padding, dilation=dilation,
                       groups=groups, bias=bias))
        if norm_cfg is not None:
            self.add_module(*build_norm(norm_cfg, out_channels))
        if act_cfg is not None:
            self.add_module('activate', build_activation(act_cfg))

    @property
    def out_channels(self) -> int:
        return self.conv.out_channels
