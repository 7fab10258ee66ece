"""The optimizer of a config: one parameter group per distinct setting,
stepped by torch's fused or multi-tensor kernels."""
import inspect
from typing import List

from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn
from torch.optim.optimizer import _get_fused_kernels_supported_devices

from mbv3.registry import (OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS,
                           OPTIMIZERS)


def merge_param_groups(groups: List[dict]) -> List[dict]:
    """Join the parameter groups whose settings (every key but
    ``'params'``) are equal, in order of first appearance.

    Each parameter keeps its learning rate, weight decay and other
    settings, so an optimizer over the merged groups computes what one
    over ``groups`` computes; it just has fewer, larger groups to step.

    Args:
        groups (list[dict]): ``dict(params=[...], **settings)`` each.

    Returns:
        list[dict]: Plain ``dict`` groups.
    """
    merged: List[dict] = []
    for group in groups:
        settings = {k: v for k, v in group.items() if k != 'params'}
        for target in merged:
            if {k: v for k, v in target.items() if k != 'params'} \
                    == settings:
                target['params'].extend(group['params'])
                break
        else:
            merged.append(dict(settings, params=list(group['params'])))
    return merged


def fast_kernel(optimizer_cls, params, cfg: dict) -> dict:
    """``fused=True`` where ``optimizer_cls`` has fused kernels for the
    parameters' device (Adam, AdamW, SGD, ... on CPU and CUDA), else
    ``foreach=True`` where it has multi-tensor kernels (RMSprop), else
    nothing; nothing either when ``cfg`` already chooses (``fused`` or
    ``foreach`` given).

    Returns:
        dict: The keyword to add to the optimizer's arguments.
    """
    accepted = inspect.signature(optimizer_cls).parameters
    if 'fused' in cfg or 'foreach' in cfg:
        return {}
    tensors = list(params)
    if 'fused' in accepted and tensors and all(
            p.is_floating_point() and p.device.type in
            _get_fused_kernels_supported_devices() for p in tensors):
        return dict(fused=True)
    if 'foreach' in accepted:
        return dict(foreach=True)
    return {}


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DefaultOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's constructor (same config: ``optimizer``,
    ``paramwise_cfg``), with fewer, plain parameter groups.

    mmengine's ``paramwise_cfg`` gives every parameter its own group (142
    for MobileNetV3-Small, 174 for Large), held as ``ConfigDict``s, which
    ``torch.compile`` cannot trace. Here the groups with equal settings
    are merged (:func:`merge_param_groups`; two for ``norm_decay_mult=0,
    bias_decay_mult=0``: decayed and not), kept as plain dicts, and the
    optimizer uses torch's fused or multi-tensor kernels
    (:func:`fast_kernel`) unless the config sets ``fused`` or ``foreach``.
    Every parameter gets the same learning rate and weight decay as with
    mmengine's constructor. In mbv3's scope it replaces mmengine's class
    under the same name, so configs need no change.
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if hasattr(model, 'module'):
            model = model.module
        optimizer_cfg = dict(self.optimizer_cfg)
        optimizer_type = optimizer_cfg.pop('type')
        optimizer_cls = optimizer_type if isinstance(optimizer_type, type) \
            else OPTIMIZERS.get(optimizer_type)
        if self.paramwise_cfg:
            groups: List[dict] = []
            self.add_params(groups, model)
            groups = merge_param_groups(groups)
        else:
            groups = [dict(params=list(model.parameters()))]
        optimizer_cfg.update(fast_kernel(
            optimizer_cls, (p for g in groups for p in g['params']),
            optimizer_cfg))
        optimizer = optimizer_cls(groups, **optimizer_cfg)
        wrapper_cfg = dict(self.optim_wrapper_cfg)
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        return OPTIM_WRAPPERS.build(wrapper_cfg,
                                    default_args=dict(optimizer=optimizer))
