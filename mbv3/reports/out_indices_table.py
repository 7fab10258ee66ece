"""The table of ``out_indices`` in docs/backbone_api.md: layer, channels and stride of
every output of each arch at each output stride, generated from
:func:`~mbv3.models.backbones.plan_layers` so it cannot go stale."""
from typing import Sequence

from mbv3.models.backbones.mobilenet_v3 import (EXPAND, plan_layers,
                                                select_outputs)
from mbv3.reports.generated import begin_marker, end_marker

# the page that shows the table
PAGE = 'docs/backbone_api.md'
NAME = 'out-indices-table'
BEGIN = begin_marker(NAME, 'tools/analysis_tools/out_indices_table.py')
END = end_marker(NAME)
OUTPUT_STRIDES = (32, 16, 8)


def _describe(plans, spec):
    """The layer's module name and what it is, from the plan."""
    layer, module = spec.layer, f'`{spec.module}`'
    if spec.tap == EXPAND:
        return (module, f'`features.{layer}.block.0`', 'expand conv of '
                f'bneck {layer} (SSDLite C4)')
    if layer == 0:
        return module, '`features.0`', 'stem: conv 3x3, stride 2'
    if layer == len(plans) + 1:
        return module, f'`features.{layer}`', 'conv 1x1'
    plan = plans[layer - 1]
    row = plan.row
    parts = [f'bneck {row.kernel_size}x{row.kernel_size}',
             f'exp {row.mid_channels}']
    if row.with_se:
        parts.append('SE')
    parts.append(row.act)
    if plan.stride == 2:
        parts.append('stride 2')
    return module, f'`features.{layer}`', ', '.join(parts)


def _outputs(arch, indices, **options):
    _, plans, _, specs = plan_layers(arch, **options)
    return select_outputs(plans, specs, indices)


def out_indices_rows(arch: str):
    """One row per ``out_indices`` entry of ``arch``: index, module,
    torchvision name, description, channels, channels with
    ``reduction_factor=2``, and the stride at each of
    :data:`OUTPUT_STRIDES`. Read from :func:`plan_layers`; nothing is
    built.

    The expansion tap listed is the one of the first bneck of the last
    stage (the SSDLite C4 tap, ``'13.expand'`` in large).
    """
    _, plans, _, specs = plan_layers(arch)
    first_of_last = min(spec.layer for spec in plan_layers(
        arch, output_stride=16)[3] if spec.dilation > 1)
    indices = list(range(len(specs)))
    indices.insert(first_of_last, f'{first_of_last}.{EXPAND}')
    strided = {os_: _outputs(arch, indices, output_stride=os_)
               for os_ in OUTPUT_STRIDES}
    reduced = _outputs(arch, indices, reduction_factor=2)
    rows = []
    for pos, spec in enumerate(strided[32]):
        rows.append((repr(spec.index) if spec.tap == EXPAND else
                     str(spec.index), *_describe(plans, spec), spec.channels,
                     reduced[pos].channels,
                     *(strided[os_][pos].stride for os_ in OUTPUT_STRIDES)))
    return rows


def out_indices_markdown(archs: Sequence[str] = ('large', 'small')) -> str:
    """The markdown tables, one per arch, between the markers of
    :data:`PAGE`."""
    lines = [BEGIN]
    header = ('| out index | module | torchvision | layer | channels | '
              'channels, `reduction_factor=2` | ' + ' | '.join(
                  f'stride, `output_stride={s}`' for s in OUTPUT_STRIDES)
              + ' |')
    for arch in archs:
        lines += ['', f"`arch='{arch}'`:", '', header,
                  '|' + '---|' * (6 + len(OUTPUT_STRIDES))]
        for row in out_indices_rows(arch):
            lines.append('| ' + ' | '.join(str(c) for c in row) + ' |')
    lines += ['', END]
    return '\n'.join(lines)
