"""Multiply-accumulate (MAC) counting by forward hooks."""
from collections import OrderedDict

import torch
from torch import nn

from mbv3.utils.checks import check_int


def _conv_macs(module: nn.Conv2d, out: torch.Tensor) -> int:
    kh, kw = module.kernel_size
    per_output = module.in_channels // module.groups * kh * kw
    return out.numel() // out.shape[0] * per_output


def _linear_macs(module: nn.Linear, out: torch.Tensor) -> int:
    return out.numel() // out.shape[0] * module.in_features


def _run_once(model: nn.Module, input_shape, handles) -> None:
    """One eval-mode forward of a zero image ``(1, *input_shape)`` on the
    model's device, then remove the forward ``handles`` and restore the
    training mode."""
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
    _run_once(model, input_shape, handles)
    return sum(per_module.values()), per_module


# Element-wise non-linearities, counted as one op per element they process.
_ACTIVATIONS = {
    nn.Hardswish: 'hardswish',
    nn.Hardsigmoid: 'hardsigmoid',
    nn.ReLU: 'relu',
    nn.ReLU6: 'relu',
}
COLUMNS = ('params', 'macs', 'activations', 'hardswish', 'hardsigmoid',
           'relu', 'se')


def _kind(module: nn.Module):
    from mbv3.models.layers import HSigmoid, SELayer
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        return 'macs'
    if isinstance(module, HSigmoid):
        return 'hardsigmoid'
    if isinstance(module, SELayer):
        return 'se'
    return next((name for cls, name in _ACTIVATIONS.items()
                 if isinstance(module, cls)), None)


def _group(name: str, depth: int) -> str:
    return '.'.join(name.split('.')[:depth]) or '(model)'


@torch.no_grad()
def complexity(model: nn.Module, input_shape=(3, 224, 224), depth: int = 2):
    """Per-layer parameters, MACs, activations and non-linearity ops of one
    image, like fvcore/mmengine's counters but with MobileNetV3's own ops.

    Columns (all per image):

    * ``params``: parameters (counted once per module, not per call);
    * ``macs``: conv and linear multiply-accumulates, as :func:`count_macs`
      (the paper's MAdds: 217M for large, 56.5M for small, Tables 1-2 /
      torchvision's 0.22 and 0.06 GFLOPS);
    * ``activations``: output elements of convs and linears (fvcore's
      activation count);
    * ``hardswish``, ``hardsigmoid``, ``relu``: elements through each
      non-linearity, one op each (mmengine's counter skips
      ``aten::hardswish``/``hardsigmoid``);
    * ``se``: the SE layers' own ops beyond their 1x1 convs: the average
      pool (one add per input element) and the channel re-weighting (one
      multiply per element).

    Args:
        model (nn.Module): Run once in eval mode on a zero image.
        input_shape (tuple[int, int, int]): ``(C, H, W)`` in pixels.
        depth (int): Rows group modules by this many leading name
            components (``backbone.layer3`` for depth 2).

    Returns:
        tuple[dict, OrderedDict]: Totals per column, and one dict of
        columns per row name, in execution order.

    Raises:
        ValueError: If ``depth`` is not a positive int.
    """
    check_int('depth', depth, low=1)
    rows = OrderedDict()

    def add(name, column, value):
        row = rows.setdefault(_group(name, depth), dict.fromkeys(COLUMNS, 0))
        row[column] += value

    handles = []
    for name, module in model.named_modules():
        kind = _kind(module)
        if kind is None:
            continue

        def hook(mod, inputs, out, name=name, kind=kind):
            per_image = out.numel() // out.shape[0]
            if kind == 'macs':
                fn = _conv_macs if isinstance(mod, nn.Conv2d) else _linear_macs
                add(name, 'macs', fn(mod, out))
                add(name, 'activations', per_image)
            elif kind == 'se':
                add(name, 'se', 2 * per_image)
            else:
                add(name, kind, per_image)

        handles.append(module.register_forward_hook(hook))
    _run_once(model, input_shape, handles)
    for name, param in model.named_parameters():
        group = _group(name.rpartition('.')[0], depth)
        rows.setdefault(group, dict.fromkeys(COLUMNS, 0))['params'] += \
            param.numel()
    totals = {col: sum(row[col] for row in rows.values()) for col in COLUMNS}
    return totals, rows


def format_complexity(totals: dict, rows: dict) -> str:
    """A plain-text table of :func:`complexity`'s output, one row per
    layer plus a total row; MACs and ops in millions (M)."""
    header = f"{'layer':<22}{'params':>11}" + ''.join(
        f'{col + " (M)":>16}' for col in COLUMNS[1:])
    lines = [header, '-' * len(header)]
    for name, row in list(rows.items()) + [('total', totals)]:
        lines.append(f'{name:<22}{row["params"]:>11,}' + ''.join(
            f'{row[col] / 1e6:>16.3f}' for col in COLUMNS[1:]))
    return '\n'.join(lines)
