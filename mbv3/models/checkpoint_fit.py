"""Whether a checkpoint's tensors fit a model, and in one line what
differs when they do not (arch, class count, keys), so that evaluating or
running a checkpoint of another model stops instead of scoring chance."""
from typing import Dict, Optional

import torch
from torch import nn

from .backbones.mobilenet_v3 import ARCH_SETTINGS, MobileNetV3

#: The prefix mmengine's ``revise_keys`` strips from a checkpoint's keys
#: (a ``DistributedDataParallel`` model's state dict).
WRAPPER_PREFIX = 'module.'
BACKBONE = 'backbone.'


class CheckpointMismatchError(ValueError):
    """A checkpoint holds tensors that do not fit the model."""


def checkpoint_state_dict(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """The tensors of a loaded checkpoint (its ``state_dict``, or the dict
    itself for a bare state dict), keys without the ``module.`` prefix."""
    state = checkpoint.get('state_dict', checkpoint)
    return {(k[len(WRAPPER_PREFIX):] if k.startswith(WRAPPER_PREFIX) else k):
            v for k, v in state.items() if isinstance(v, torch.Tensor)}


def _backbone_arch(shapes: Dict[str, torch.Size],
                   widen_factor) -> Optional[str]:
    """The name in :data:`ARCH_SETTINGS` whose MobileNetV3 backbone (at
    ``widen_factor``) has exactly these ``backbone.*`` tensor shapes."""
    own = {k[len(BACKBONE):]: s for k, s in shapes.items()
           if k.startswith(BACKBONE)}
    for arch in ARCH_SETTINGS:
        with torch.device('meta'):
            candidate = MobileNetV3(arch, widen_factor=widen_factor)
        if {k: v.shape for k, v in candidate.state_dict().items()} == own:
            return arch
    return None


def _class_count(num_classes, ours, theirs, differ) -> Optional[int]:
    """The checkpoint's class count, read from the head tensor whose first
    dimension is the model's class count, when that tensor differs."""
    for key in differ:
        if key.startswith('head.') and ours[key][0] == num_classes:
            return theirs[key][0]
    return None


def _resized_on_load(model: nn.Module) -> tuple:
    """Key prefixes of the fake-quantizers and observers of ``model``: their
    scales, zero points and ranges take the checkpoint's shape as they
    load (per-channel ones start with one value, or none)."""
    try:
        from torchao.quantization.pt2e import FakeQuantizeBase, ObserverBase
    except ImportError:  # only torchao's PT2E prepares models (int8 extra)
        return ()
    return tuple(f'{name}.' for name, module in model.named_modules()
                 if isinstance(module, (FakeQuantizeBase, ObserverBase)))


def _keys(kind: str, keys) -> str:
    return f'{len(keys)} {kind} (e.g. {keys[0]!r})'


def describe_mismatch(model: nn.Module,
                      state_dict: Dict[str, torch.Tensor]) -> Optional[str]:
    """What keeps ``state_dict`` from loading strictly into ``model``.

    Args:
        model (nn.Module): The model (unwrapped).
        state_dict (dict[str, Tensor]): The checkpoint's tensors, keys as
            in :func:`checkpoint_state_dict`.

    Returns:
        str | None: None when every key matches with its shape; else the
        differences joined by '; ': the backbone arch of each side (named
        when a MobileNetV3 arch matches the checkpoint), the class count of
        each side, and the missing, unexpected and reshaped keys, counted,
        with one example each.
    """
    ours = {k: v.shape for k, v in model.state_dict().items()}
    theirs = {k: v.shape for k, v in state_dict.items()}
    missing = sorted(k for k in ours if k not in theirs)
    unexpected = sorted(k for k in theirs if k not in ours)
    resized = _resized_on_load(model)
    differ = sorted(k for k in ours if k in theirs and ours[k] != theirs[k]
                    and not k.startswith(resized))
    if not (missing or unexpected or differ):
        return None
    parts = []
    backbone = getattr(model, 'backbone', None)
    backbone_differs = any(k.startswith(BACKBONE)
                           for k in missing + unexpected + differ)
    if isinstance(backbone, MobileNetV3) and backbone_differs and \
            isinstance(backbone.arch, str):
        arch = _backbone_arch(theirs, backbone.widen_factor)
        found = 'another' if arch is None else repr(arch)
        parts.append(f'backbone arch: {found} in the checkpoint, '
                     f'{backbone.arch!r} in the model')
    num_classes = getattr(getattr(model, 'head', None), 'num_classes', None)
    classes = _class_count(num_classes, ours, theirs, differ)
    if classes is not None:
        parts.append(f'class count: {classes} in the checkpoint, '
                     f'{num_classes} in the model')
    if missing:
        parts.append(_keys('keys missing from the checkpoint', missing))
    if unexpected:
        parts.append(_keys('unexpected keys', unexpected))
    if differ:
        parts.append(_keys('tensors of another shape', differ))
    return '; '.join(parts)


def check_checkpoint_fits(model: nn.Module, checkpoint: dict,
                          name: str) -> None:
    """Raise unless ``checkpoint`` loads strictly into ``model``.

    Args:
        model (nn.Module): The model (unwrapped).
        checkpoint (dict): The loaded checkpoint or bare state dict.
        name (str): The checkpoint's path or name, for the message.

    Raises:
        CheckpointMismatchError: One line: the checkpoint, what differs
            (:func:`describe_mismatch`) and the fix.
    """
    problem = describe_mismatch(model, checkpoint_state_dict(checkpoint))
    if problem is not None:
        raise CheckpointMismatchError(
            f'checkpoint {name!r} does not fit the model: {problem}; use '
            'the config it was trained with, or load only the tensors that '
            'fit with --partial-load (strict=False in Python)')
