"""MobileNetV3 backbone (Howard et al., "Searching for MobileNetV3", 2019,
arXiv 1905.02244).

Reads top to bottom: the typed row of the arch tables, the tables, the
function that turns (arch, widen_factor, output_stride, reduction_factor)
into concrete layer specs, then the network.
"""
import numbers
from typing import NamedTuple, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from mbv3.registry import MODELS
from mbv3.utils.checks import check_int
from mbv3.models.pretrained import (CheckedPretrainedMixin,
                                   init_cfg_from_pretrained)
from ..layers import ConvNormAct, InvertedResidual, make_divisible
from .capture import ScriptableLayers, is_capturing


class BlockConfig(NamedTuple):
    """One bneck row of the paper's Tables 1 and 2."""
    kernel_size: int  # depthwise kernel, 3 or 5
    mid_channels: int  # "exp size": the expanded (depthwise) width
    out_channels: int  # "#out"
    with_se: bool  # "SE"
    act: str  # "NL": 'ReLU' (RE) or 'HSwish' (HS)
    stride: int  # "s", of the depthwise conv


# The two kinds of output a layer offers: its own output, or (bnecks with
# an expand conv) the expand conv's output, spelt ``'<i>.expand'``.
OUTPUT, EXPAND = 'output', 'expand'


class LayerSpec(NamedTuple):
    """An output of a concrete network: which tap of which layer, its width
    and where.

    ``layer`` is the layer number (``0 .. N+1``); ``tap`` is
    :data:`OUTPUT` (the layer's output) or :data:`EXPAND` (the expand
    conv of bneck ``layer``). ``stride`` is the total reduction of the
    output relative to the input image (``H_out = ceil(H / stride)``),
    ``dilation`` that of the layer's depthwise conv (1 for an expand tap).
    """
    layer: int
    tap: str
    channels: int
    stride: int
    dilation: int

    @property
    def index(self) -> Union[int, str]:
        """The ``out_indices`` spelling: ``layer`` or ``'<layer>.expand'``.
        """
        return self.layer if self.tap == OUTPUT else f'{self.layer}.{EXPAND}'

    @property
    def module(self) -> str:
        """The module whose output this is: ``'layer<i>'`` or
        ``'layer<i>.expand_conv'`` (timm's ``feature_info`` 'module')."""
        name = f'layer{self.layer}'
        return name if self.tap == OUTPUT else f'{name}.expand_conv'


_NL = {'RE': 'ReLU', 'HS': 'HSwish'}
_SE = {'SE': True, '-': False}


def _table(text: str) -> Tuple[BlockConfig, ...]:
    """Rows of a bneck table written as in the paper: kernel, exp size,
    #out, SE ('SE' or '-'), NL ('RE' or 'HS'), s.

    Raises:
        ValueError: Naming the row (from 0) and its text, for a row that
            is not six such fields.
    """
    rows = []
    for i, line in enumerate(text.strip().splitlines()):
        try:
            kernel, mid, out, se, act, stride = line.split()
            rows.append(BlockConfig(int(kernel), int(mid), int(out),
                                    _SE[se], _NL[act], int(stride)))
        except (ValueError, KeyError):
            raise ValueError(
                f'arch table row {i} {line.strip()!r} must be: kernel, exp '
                f'size, #out (ints), SE {tuple(_SE)}, NL {tuple(_NL)}, s '
                f'(int)') from None
    return tuple(rows)


def _minimal(rows):
    """The paper's minimalistic variant: no SE, ReLU only, 3x3 kernels
    (TensorFlow ``mobilenet_v3.py`` ``*_MINIMALISTIC``; timm ``*_minimal``).
    """
    return tuple(row._replace(kernel_size=3, with_se=False, act='ReLU')
                 for row in rows)


# Table 1 of the paper (also torchvision's and mmpretrain's 'large').
#   kernel  exp size  #out  SE  NL  s
LARGE = _table("""
    3     16    16   -    RE   1
    3     64    24   -    RE   2
    3     72    24   -    RE   1
    5     72    40   SE   RE   2
    5    120    40   SE   RE   1
    5    120    40   SE   RE   1
    3    240    80   -    HS   2
    3    200    80   -    HS   1
    3    184    80   -    HS   1
    3    184    80   -    HS   1
    3    480   112   SE   HS   1
    3    672   112   SE   HS   1
    5    672   160   SE   HS   2
    5    960   160   SE   HS   1
    5    960   160   SE   HS   1
""")
# Table 2 of the paper.
SMALL = _table("""
    3     16    16   SE   RE   2
    3     72    24   -    RE   2
    3     88    24   -    RE   1
    5     96    40   SE   HS   2
    5    240    40   SE   HS   1
    5    240    40   SE   HS   1
    5    120    48   SE   HS   1
    5    144    48   SE   HS   1
    5    288    96   SE   HS   2
    5    576    96   SE   HS   1
    5    576    96   SE   HS   1
""")
STEM_CHANNELS = 16


def _timm_scaled(rows, multiplier):
    """Scale a table the way timm builds its width variants
    (``timm/models/mobilenetv3.py``, ``_gen_mobilenet_v3`` with
    ``channel_multiplier``), which mmpretrain's 'small_075'/'small_050'
    tables copy: each output width is ``make_divisible(out * multiplier)``
    and each expansion width ``make_divisible(scaled input width * ratio)``
    with the row's expansion ratio ``mid / input`` of the unscaled table.
    The stem stays at 16 channels. This differs from scaling the table by
    ``widen_factor`` (row 2 of Large at 0.75: 64 here, 48 there).
    """
    rows_out = []
    in_base = in_scaled = STEM_CHANNELS
    for row in rows:
        out = make_divisible(row.out_channels * multiplier, 8)
        mid = make_divisible(in_scaled * row.mid_channels / in_base, 8)
        rows_out.append(row._replace(mid_channels=mid, out_channels=out))
        in_base, in_scaled = row.out_channels, out
    return tuple(rows_out)


ARCH_SETTINGS = {
    'large': LARGE,
    'small': SMALL,
    'large_075': _timm_scaled(LARGE, 0.75),
    'small_075': _timm_scaled(SMALL, 0.75),
    'small_050': _timm_scaled(SMALL, 0.5),
    'large_minimal': _minimal(LARGE),
    'small_minimal': _minimal(SMALL),
}
# Archs whose stem and last conv use ReLU instead of h-swish.
RELU_ONLY_ARCHS = ('large_minimal', 'small_minimal')

LAST_CONV_RATIO = 6  # last 1x1 conv: 6x the last bneck's width (960, 576)
OUTPUT_STRIDES = (8, 16, 32)
# The backbone's init_cfg when none is given (mmpretrain's defaults).
DEFAULT_INIT_CFG = [
    dict(type='Kaiming', layer=['Conv2d'], mode='fan_out',
         nonlinearity='relu'),
    dict(type='Normal', layer=['Linear'], std=0.01),
    dict(type='Constant', layer=['BatchNorm2d'], val=1)
]


def parse_arch(arch) -> Tuple[BlockConfig, ...]:
    """Turn an arch name or a user table into typed rows.

    Args:
        arch (str | Sequence[Sequence]): A key of :data:`ARCH_SETTINGS`, or
            rows ``(kernel_size, mid_channels, out_channels, with_se, act,
            stride)`` with ``act`` in {'ReLU', 'HSwish'} and stride 1 or 2.

    Returns:
        tuple[BlockConfig, ...]: The rows.

    Raises:
        ValueError: Unknown name, empty table, or a malformed row (the
            message names the row and the field).
        TypeError: If ``arch`` is neither a str nor a sequence of rows.
    """
    if isinstance(arch, str):
        if arch not in ARCH_SETTINGS:
            raise ValueError(f'arch must be one of {sorted(ARCH_SETTINGS)} '
                             f'or a list of rows, got {arch!r}')
        return ARCH_SETTINGS[arch]
    if not isinstance(arch, Sequence):
        raise TypeError(f'arch must be a str or a sequence of rows, got '
                        f'{type(arch).__name__}')
    if len(arch) == 0:
        raise ValueError('arch table must have at least one row, got []')
    rows = []
    for i, row in enumerate(arch):
        if not isinstance(row, Sequence) or len(row) != len(
                BlockConfig._fields):
            raise ValueError(
                f'arch row {i} must have the 6 fields {BlockConfig._fields}, '
                f'got {row!r}')
        row = BlockConfig(*row)
        where = f'arch row {i} {tuple(row)}:'
        check_int(f'{where} kernel_size', row.kernel_size, low=1,
                  allowed='an odd int >= 1')
        if row.kernel_size % 2 == 0:
            raise ValueError(f'{where} kernel_size must be an odd int >= 1, '
                             f'got {row.kernel_size}')
        check_int(f'{where} mid_channels', row.mid_channels, low=1)
        check_int(f'{where} out_channels', row.out_channels, low=1)
        if not isinstance(row.with_se, bool):
            raise ValueError(f'{where} with_se must be a bool, got '
                             f'{row.with_se!r}')
        if row.act not in ('ReLU', 'HSwish'):
            raise ValueError(f"{where} act must be 'ReLU' or 'HSwish', got "
                             f'{row.act!r}')
        if row.stride not in (1, 2) or isinstance(row.stride, bool):
            raise ValueError(f'{where} stride must be 1 or 2, got '
                             f'{row.stride!r}')
        rows.append(row)
    return tuple(rows)


class _LayerPlan(NamedTuple):
    """A bneck row made concrete: widths scaled, stride/dilation set."""
    in_channels: int
    row: BlockConfig
    stride: int
    dilation: int


def plan_layers(arch='small', widen_factor=1.0, output_stride=32,
                reduction_factor=1):
    """Compute every layer of a MobileNetV3 without building it.

    * ``widen_factor`` scales every width with ``make_divisible(c * w, 8)``
      (torchvision's ``width_mult``), the stem included.
    * ``output_stride``: once the total stride reaches it, a stride-2 row
      runs at stride 1 and it and the rows after it are dilated by the
      stride they lost (torchvision ``dilated=True``, mmseg's dilated
      backbone).
    * ``reduction_factor`` divides the widths of the last stage (the rows
      from the last stride-2 row on, and the last conv), as torchvision's
      ``reduced_tail``: the first row of that stage keeps its expansion
      width, because its input is not reduced.

    Args:
        arch (str | Sequence): See :func:`parse_arch`.
        widen_factor (float): Width multiplier, > 0.
        output_stride (int): 8, 16 or 32.
        reduction_factor (int): >= 1.

    Returns:
        tuple: ``(stem_channels, plans, last_channels, layer_specs)`` where
        ``layer_specs`` lists a :class:`LayerSpec` for layers
        ``0 .. len(rows) + 1``.

    Raises:
        ValueError: For any argument out of its range.
    """
    rows = parse_arch(arch)
    if (not isinstance(widen_factor, numbers.Real)
            or isinstance(widen_factor, bool) or not widen_factor > 0
            or widen_factor == float('inf')):
        raise ValueError(f'widen_factor must be a finite float > 0, got '
                         f'{widen_factor!r}')
    if output_stride not in OUTPUT_STRIDES or isinstance(output_stride, bool):
        raise ValueError(f'output_stride must be one of {OUTPUT_STRIDES}, '
                         f'got {output_stride!r}')
    check_int('reduction_factor', reduction_factor, low=1)

    def width(c):
        return make_divisible(c * widen_factor, 8)

    last_stage = max(i for i, r in enumerate(rows) if r.stride == 2) \
        if any(r.stride == 2 for r in rows) else 0
    stem = width(STEM_CHANNELS)
    specs = [LayerSpec(0, OUTPUT, stem, 2, 1)]
    plans = []
    in_channels, total_stride, dilation = stem, 2, 1
    for i, row in enumerate(rows):
        mid, out = row.mid_channels, row.out_channels
        if i >= last_stage:
            out //= reduction_factor
            if i > last_stage:
                mid //= reduction_factor
        if mid < 1 or out < 1:
            raise ValueError(f'reduction_factor={reduction_factor} leaves '
                             f'arch row {i} with no channels')
        row = row._replace(mid_channels=width(mid), out_channels=width(out))
        stride = row.stride
        if total_stride * stride > output_stride:
            dilation *= stride
            stride = 1
        total_stride *= stride
        plans.append(_LayerPlan(in_channels, row, stride, dilation))
        specs.append(LayerSpec(i + 1, OUTPUT, row.out_channels, total_stride,
                               dilation))
        in_channels = row.out_channels
    last = LAST_CONV_RATIO * in_channels
    specs.append(LayerSpec(len(rows) + 1, OUTPUT, last, total_stride, 1))
    return stem, tuple(plans), last, tuple(specs)


def select_outputs(plans, specs, out_indices=None, out_strides=None
                   ) -> Tuple[LayerSpec, ...]:
    """The whole ``out_indices`` grammar: a user's selection of outputs,
    as typed specs of a planned network (nothing is built).

    Entries of ``out_indices`` are layer numbers ``0 .. N+1`` (negative
    ones count from the end) or ``'<i>.expand'``, the expand conv of bneck
    ``i`` (negative ``i`` counts from the end too; only bnecks whose expand
    conv exists, i.e. whose expanded width differs from their input
    width). ``out_strides`` selects instead the last layer at each stride.

    Args:
        plans (tuple[_LayerPlan]): The bneck plans of :func:`plan_layers`.
        specs (tuple[LayerSpec]): The layer specs of :func:`plan_layers`.
        out_indices (int | str | Sequence, optional): Defaults to the last
            layer.
        out_strides (int | Sequence[int], optional): Instead of
            ``out_indices``, e.g. ``(4, 8, 16, 32)``.

    Returns:
        tuple[LayerSpec]: One per selected output, in the order given.

    Raises:
        ValueError: Both selections given, an entry out of range or
            malformed, or a repeated output; the message names the entry
            and what is allowed.
    """
    if out_strides is not None:
        if out_indices is not None:
            raise ValueError('give out_indices or out_strides, not both '
                             f'(got {out_indices!r} and {out_strides!r})')
        return _outputs_at_strides(specs, out_strides)
    if out_indices is None:
        return (specs[-1], )
    if isinstance(out_indices, (numbers.Integral, str)):
        out_indices = (out_indices, )
    if not isinstance(out_indices, Sequence) or len(out_indices) == 0:
        raise ValueError(f'out_indices must be an int, a str or a '
                         f'non-empty sequence of them, got '
                         f'{out_indices!r}')
    outputs = tuple(_parse_index(index, plans, specs)
                    for index in out_indices)
    if len(set(outputs)) != len(outputs):
        raise ValueError(f'out_indices must not repeat a layer, got '
                         f'{tuple(out_indices)!r}')
    return outputs


def _parse_index(index, plans, specs) -> LayerSpec:
    num_layers = len(specs)
    if isinstance(index, str):
        block, _, tap = index.partition('.')
        if tap == EXPAND and block.lstrip('-').isdigit():
            block = int(block)
            block += num_layers if block < 0 else 0
            plan = plans[block - 1] if 1 <= block <= num_layers - 2 else None
            if plan is not None and plan.in_channels != plan.row.mid_channels:
                return LayerSpec(block, EXPAND, plan.row.mid_channels,
                                 specs[block - 1].stride, 1)
    elif isinstance(index, numbers.Integral) and \
            not isinstance(index, bool) and -num_layers <= index < num_layers:
        return specs[int(index) % num_layers]
    raise ValueError(f'out_indices entry must be an int in [{-num_layers}, '
                     f"{num_layers - 1}] or '<i>.expand' with i a bneck in "
                     f'[1, {num_layers - 2}] that has an expand conv, got '
                     f'{index!r}')


def _outputs_at_strides(specs, strides) -> Tuple[LayerSpec, ...]:
    if isinstance(strides, numbers.Integral):
        strides = (strides, )
    last_at = {spec.stride: spec for spec in specs}
    outputs = []
    for stride in strides:
        if stride not in last_at:
            raise ValueError(
                f'out_strides entry {stride!r} is not a stride of this '
                f'network; allowed: {sorted(last_at)}')
        outputs.append(last_at[stride])
    if len(set(outputs)) != len(outputs):
        raise ValueError(f'out_strides must not repeat, got {strides!r}')
    return tuple(outputs)


@MODELS.register_module()
class MobileNetV3(CheckedPretrainedMixin, BaseModule):
    """MobileNetV3 backbone, returning the outputs ``out_indices`` select.

    Layers follow mmpretrain's layout, so its ``out_indices`` numbering and
    state-dict keys hold and mmpretrain/mmcls checkpoints load unchanged:

    * ``layer0``: stem, 3x3 stride-2 conv to 16 channels + BN + h-swish;
    * ``layer1`` .. ``layerN``: one :class:`InvertedResidual` per arch row;
    * ``layer{N+1}``: 1x1 conv + BN + h-swish to 6x the last row's width
      (960 for large, 576 for small).

    Layer ``i`` is torchvision's ``features[i]``. Parameter counts equal
    torchvision's ``mobilenet_v3_large/small`` backbones.

    Shape: ``(N, in_channels, H, W) -> tuple of (N, C_i, ceil(H / s_i),
    ceil(W / s_i))``, one per entry of ``out_indices``, in that order, with
    ``C_i``/``s_i`` given by :attr:`feature_info` (channels, stride).

    Args:
        arch (str | Sequence): 'large', 'small' (paper Tables 1 and 2),
            the width variants 'large_075', 'small_075', 'small_050'
            (timm's ``mobilenetv3_*_075/050``; mmpretrain's 'small_075',
            'small_050'), 'large_minimal' / 'small_minimal' (no SE, ReLU,
            3x3), or a table of rows
            ``(kernel_size, mid_channels, out_channels, with_se, act,
            stride)``. Defaults to 'small'.
        widen_factor (float): Width multiplier (> 0) applied to every width
            with ``make_divisible(c * widen_factor, 8)``. Defaults to 1.0.
        out_indices (int | str | Sequence): Layers to return, in
            ``0 .. N+1``; negative values count from the end. A string
            ``'<i>.expand'`` taps the expand conv of bneck ``i`` (the SSDLite
            C4 tap is ``'13.expand'`` in large). Defaults to the last layer.
        out_strides (Sequence[int], optional): Instead of ``out_indices``,
            return the last layer at each of these strides, e.g.
            ``(4, 8, 16, 32)``.
        output_stride (int): 8, 16 or 32. Strides past it become dilations.
            Defaults to 32.
        reduction_factor (int): Divides the widths of the last stage
            (torchvision ``reduced_tail`` is 2). Defaults to 1.
        in_channels (int): Channels of the input image. Defaults to 3.
        frozen_stages (int): Layers ``0 .. frozen_stages`` are frozen
            (``requires_grad=False``, norm in eval mode); -1 freezes none.
        norm_eval (bool): Keep every norm layer in eval mode while
            training. Defaults to False.
        with_cp (bool): Gradient checkpointing in each bneck.
        conv_cfg (dict, optional): Conv config, e.g. a registered conv
            type: ``dict(type='Conv2dSame')`` pads like TensorFlow's
            'SAME' (timm's ``tf_`` ports, mmseg). Defaults to ``nn.Conv2d``.
        norm_cfg (dict): Norm config. Defaults to
            ``dict(type='BN', eps=0.001, momentum=0.01)`` (the paper's
            TensorFlow values, as torchvision and mmpretrain use).
        act_cfg (dict, optional): If given, replaces every ReLU/h-swish of
            the stem, the bnecks and the last conv (not those inside SE).
        init_cfg (dict | list[dict], optional): mmengine init config;
            None gives :data:`DEFAULT_INIT_CFG` (Kaiming fan_out for convs,
            N(0, 0.01) for linears, BN ones). A ``Pretrained`` entry loads
            through :func:`mbv3.models.pretrained.load_pretrained`: a file
            that fills none of the backbone raises ValueError, one that
            fills part of it warns, both naming the layout found and the
            fix.
        pretrained (str, optional): Deprecated (mmseg's and mmdet's
            backbone argument, which their configs pass on): the same as
            ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``.

    Raises:
        ValueError / TypeError: For any argument out of range; the message
            names the argument, the value and what is allowed.

    Example:
        >>> model = MobileNetV3('large', out_indices=(3, 6, 12, 16)).eval()
        >>> [o.shape for o in model(torch.rand(1, 3, 224, 224))]
        [torch.Size([1, 24, 56, 56]), torch.Size([1, 40, 28, 28]),
         torch.Size([1, 112, 14, 14]), torch.Size([1, 960, 7, 7])]
    """

    def __init__(self,
                 arch='small',
                 widen_factor=1.0,
                 out_indices=None,
                 out_strides=None,
                 output_stride=32,
                 reduction_factor=1,
                 in_channels=3,
                 frozen_stages=-1,
                 norm_eval=False,
                 with_cp=False,
                 conv_cfg=None,
                 norm_cfg=dict(type='BN', eps=0.001, momentum=0.01),
                 act_cfg=None,
                 init_cfg=None,
                 pretrained=None):
        init_cfg = init_cfg_from_pretrained(pretrained, init_cfg)
        super().__init__(DEFAULT_INIT_CFG if init_cfg is None else init_cfg)
        stem, plans, last, specs = plan_layers(arch, widen_factor,
                                               output_stride,
                                               reduction_factor)
        check_int('in_channels', in_channels, low=1)
        num_layers = len(specs)
        check_int('frozen_stages', frozen_stages, -1, num_layers - 1)
        if act_cfg is None and arch in RELU_ONLY_ARCHS:
            act_cfg = dict(type='ReLU')
        self.arch = arch
        self.widen_factor = widen_factor
        self.output_stride = output_stride
        self.reduction_factor = reduction_factor
        self.in_channels = in_channels
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.layer_specs = specs
        self._plans = plans
        self._outputs = select_outputs(plans, specs, out_indices,
                                       out_strides)

        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        hswish = act_cfg or dict(type='HSwish')
        self.layer0 = ConvNormAct(in_channels, stem, 3, stride=2,
                                  act_cfg=hswish, **common)
        for i, plan in enumerate(plans, start=1):
            row = plan.row
            self.add_module(
                f'layer{i}',
                InvertedResidual(
                    plan.in_channels, row.out_channels, row.mid_channels,
                    kernel_size=row.kernel_size, stride=plan.stride,
                    dilation=plan.dilation, with_se=row.with_se,
                    act_cfg=act_cfg or dict(type=row.act), with_cp=with_cp,
                    with_res_shortcut=row.stride == 1
                    and plan.in_channels == row.out_channels,
                    **common))
        self.add_module(
            f'layer{num_layers - 1}',
            ConvNormAct(plans[-1].row.out_channels, last, 1, act_cfg=hswish,
                        **common))
        self._run_plan = self._plan_run()
        self._freeze_stages()

    @property
    def out_indices(self) -> tuple:
        """The selected outputs, normalised (non-negative ints and
        ``'<i>.expand'``). Assigning re-validates and re-plans the
        forward."""
        return tuple(spec.index for spec in self._outputs)

    @out_indices.setter
    def out_indices(self, value) -> None:
        self._outputs = self.output_specs(value)
        self._run_plan = self._plan_run()

    @property
    def feature_info(self) -> Tuple[LayerSpec, ...]:
        """Channels and stride of each output, in ``out_indices`` order.

        Necks are sized from it without running the model (timm's
        ``feature_info``): ``[f.channels for f in model.feature_info]``.
        """
        return self._outputs

    def output_specs(self, out_indices=None, out_strides=None
                         ) -> Tuple[LayerSpec, ...]:
        """The outputs ``out_indices`` (or ``out_strides``) would select in
        this network, without selecting them (:func:`select_outputs`).

        Raises:
            ValueError: As the constructor's arguments would.
        """
        return select_outputs(self._plans, self.layer_specs, out_indices,
                              out_strides)

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of each output, in ``out_indices`` order."""
        return tuple(f.channels for f in self.feature_info)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Run the layers up to the last one ``out_indices`` needs.

        Args:
            x (Tensor): Images, ``(N, in_channels, H, W)``, floating point.

        Returns:
            tuple[Tensor]: One ``(N, C_i, ceil(H / s_i), ceil(W / s_i))``
            tensor per ``out_indices`` entry, in that order.

        The input checks run in eager mode only (:func:`is_capturing`), so
        FX, TorchScript, ONNX, ``torch.export`` and ``torch.compile``
        capture the network alone.

        Raises:
            ValueError: If ``x`` is not 4-D, has the wrong channel count, an
                empty batch or an empty spatial size, or is too small for
                training: with a batch of 1, a layer whose output is 1x1
                leaves its training-mode BatchNorm one value per channel
                (torch's "Expected more than 1 value per channel when
                training"); the message names the layer and its stride.
            TypeError: If ``x`` is not floating point.
        """
        if not is_capturing():
            self._check_input(x)
        outs = [None] * len(self._outputs)
        layers = self._modules
        for name, out_pos, tap_pos in self._run_plan:
            layer = layers[name]
            if tap_pos is None:
                x = layer(x)
            else:
                x, outs[tap_pos] = layer.forward_with_expand(x)
            if out_pos is not None:
                outs[out_pos] = x
        return tuple(outs)

    def __prepare_scriptable__(self) -> ScriptableLayers:
        """What ``torch.jit.script(backbone)`` compiles: the layers the
        forward runs, as :class:`ScriptableLayers` (same weights and
        state-dict keys; returns a list instead of a tuple).

        Raises:
            ValueError: If ``out_indices`` has an ``'<i>.expand'`` tap,
                which only the Python forward can take.
        """
        taps = [i for i in self.out_indices if isinstance(i, str)]
        if taps:
            raise ValueError(
                f'torch.jit.script needs int out_indices, got the expand '
                f'taps {taps}; capture them with torch.jit.trace, '
                'torch.export or torch.fx instead')
        return ScriptableLayers(
            {name: getattr(self, name) for name, _, _ in self._run_plan},
            self.out_indices)

    def _plan_run(self):
        """``(layer name, output position, expand-tap position)`` for each
        layer up to the last one ``out_indices`` needs, computed once so the
        forward does no parsing and ``torch.compile`` sees constants."""
        wanted = {(spec.layer, spec.tap): pos
                  for pos, spec in enumerate(self._outputs)}
        last = max(spec.layer for spec in self._outputs)
        return tuple((f'layer{i}', wanted.get((i, OUTPUT)),
                      wanted.get((i, EXPAND))) for i in range(last + 1))

    def _check_input(self, x):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f'MobileNetV3 input must be a Tensor of shape '
                            f'(N, {self.in_channels}, H, W), got '
                            f'{type(x).__name__}')
        if x.dim() != 4:
            raise ValueError(
                f'MobileNetV3 input must be 4-D (N, {self.in_channels}, H, '
                f'W), got shape {tuple(x.shape)}')
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f'MobileNetV3 input must have {self.in_channels} channels '
                f'(N, {self.in_channels}, H, W), got shape '
                f'{tuple(x.shape)}')
        if x.shape[0] == 0:
            raise ValueError(f'MobileNetV3 input batch is empty, got shape '
                             f'{tuple(x.shape)}')
        if not x.is_floating_point():
            raise TypeError(f'MobileNetV3 input must be floating point, got '
                            f'{x.dtype}; convert images with .float() and '
                            'normalise them')
        if x.shape[2] == 0 or x.shape[3] == 0:
            raise ValueError(f'MobileNetV3 input has an empty spatial size, '
                             f'got shape {tuple(x.shape)}')
        if self.training and x.shape[0] == 1:
            self._check_batch_norm_size(x.shape)

    def _check_batch_norm_size(self, shape):
        last = max(spec.layer for spec in self._outputs)
        deepest = max(spec.stride for spec in self.layer_specs[:last + 1])
        for spec in self.layer_specs[:last + 1]:
            h = -(-shape[2] // spec.stride)
            w = -(-shape[3] // spec.stride)
            layer = getattr(self, f'layer{spec.index}')
            if h * w == 1 and any(m.training for m in layer.modules()
                                  if isinstance(m, _BatchNorm)):
                raise ValueError(
                    f'MobileNetV3 input of shape {tuple(shape)} is too small '
                    f'to train with a batch of 1: layer{spec.index} (stride '
                    f'{spec.stride}) outputs (1, {spec.channels}, 1, 1), and '
                    'its BatchNorm needs more than one value per channel in '
                    'training mode; expected a batch of >= 2, H or W larger '
                    f'than {deepest} pixels, or norm_eval=True')

    def _freeze_stages(self):
        for i in range(self.frozen_stages + 1):
            layer = getattr(self, f'layer{i}')
            layer.eval()
            for param in layer.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'MobileNetV3':
        """Set train mode, then re-apply ``frozen_stages`` and
        ``norm_eval``. Returns ``self``."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
