"""Inference-only rewrites: Conv-BN folding and the channels_last layout."""
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_eval

from mbv3.models.layers import ConvNormAct


def fuse_conv_bn(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm of a :class:`ConvNormAct` into its conv.

    In eval mode BN is the affine map ``y = (x - mean) / sqrt(var + eps) *
    gamma + beta``; it is absorbed into the preceding conv's weight and bias
    (``torch.nn.utils.fusion.fuse_conv_bn_eval``) and the ``bn`` child is
    removed, so each unit runs ``conv -> act``. Outputs equal the unfused
    model's to float rounding (about 1e-6 in fp32). The model is put in eval
    mode and changed in place; it can no longer be trained.

    Args:
        model (nn.Module): Any module holding ``ConvNormAct`` units (a
            backbone, a classifier).

    Returns:
        nn.Module: ``model`` itself, fused.

    Raises:
        TypeError: If ``model`` is not an ``nn.Module``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f'model must be an nn.Module, got '
                        f'{type(model).__name__}')
    model.eval()
    for module in model.modules():
        if not isinstance(module, ConvNormAct):
            continue
        norm = getattr(module, 'bn', None)
        if isinstance(norm, _BatchNorm) and type(module.conv) is nn.Conv2d:
            module.conv = fuse_conv_bn_eval(module.conv, norm)
            del module.bn
    return model


def prepare_for_inference(model: nn.Module, fuse: bool = True,
                          channels_last: bool = True) -> nn.Module:
    """The deploy path: eval mode, Conv-BN folding and channels_last.

    channels_last (NHWC) lets oneDNN (CPU) and cuDNN (GPU) run the 1x1 and
    depthwise convs without layout reorders; feed inputs converted with
    ``x.contiguous(memory_format=torch.channels_last)`` (a contiguous NCHW
    input is also accepted, at the cost of one conversion).

    Args:
        model (nn.Module): The model; changed in place.
        fuse (bool): Apply :func:`fuse_conv_bn`. Defaults to True.
        channels_last (bool): Store the 4-D weights as channels_last.
            Defaults to True.

    Returns:
        nn.Module: ``model`` in eval mode.
    """
    if fuse:
        fuse_conv_bn(model)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return model.eval()
