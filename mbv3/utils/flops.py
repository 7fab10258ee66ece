"""Multiply-accumulate (MAC) counting by forward hooks."""
from collections import OrderedDict

import torch
from torch import nn


def _conv_macs(module: nn.Conv2d, out: torch.Tensor) -> int:
    kh, kw = module.kernel_size
    per_output = module.in_channels // module.groups * kh * kw
    return out.numel() // out.shape[0] * per_output


def _linear_macs(module: nn.Linear, out: torch.Tensor) -> int:
    return out.numel() // out.shape[0] * module.in_features


@torch.no_grad()
def count_macs(model: nn.Module, input_shape=(3, 224, 224)):
    """Multiply-accumulates of one image through ``model``'s convs and
    linears: the paper's "MAdds" (Tables 3 and 4) and torchvision's
    reported GFLOPS, which leave out activations, BN and pooling.

    Args:
        model (nn.Module): Run in eval mode on one zero image.
        input_shape (tuple[int, int, int]): ``(C, H, W)`` in pixels.

    Returns:
        tuple[int, OrderedDict]: Total MACs per image, and MACs per module
        name.
    """
    per_module = OrderedDict()
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            fn = _conv_macs
        elif isinstance(module, nn.Linear):
            fn = _linear_macs
        else:
            continue

        def hook(mod, inputs, out, name=name, fn=fn):
            per_module[name] = per_module.get(name, 0) + fn(mod, out)

        handles.append(module.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters(), None)
        device = param.device if param is not None else 'cpu'
        model(torch.zeros(1, *input_shape, device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return sum(per_module.values()), per_module
