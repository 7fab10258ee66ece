"""Turn a third-party MobileNetV3 state dict into an mbv3 one, and work out
the model it belongs to."""
import os.path as osp
import warnings
from typing import Optional, Tuple

import torch

from mbv3.models.backbones.mobilenet_v3 import ARCH_SETTINGS, plan_layers
from mbv3.models.pretrained import SOURCES, detect_source, unwrap
from . import from_openmmlab, from_timm, from_torchvision, presets

_CONVERTERS = {
    'torchvision': from_torchvision.convert,
    'timm': from_timm.convert,
    'mmpretrain': from_openmmlab.convert_mmpretrain,
    'mmseg': from_openmmlab.convert_mmseg,
}
# widen_factor values tried in order: the published ones (torchvision,
# timm, TensorFlow's MobileNetV3 checkpoints), then the multiples of 0.05
# and of 0.01 up to 4.
_WIDTHS = tuple(dict.fromkeys(
    (1.0, 0.75, 0.5, 0.35, 1.25, 1.5, 2.0)
    + tuple(round(i * 0.05, 2) for i in range(1, 81))
    + tuple(round(i * 0.01, 2) for i in range(1, 401))))
_REDUCTION_FACTORS = (1, 2)  # 2 is torchvision's reduced_tail


def convert_state_dict(state_dict: dict, source: str = 'auto') -> dict:
    """Rename a MobileNetV3 state dict from another library to mbv3's keys.

    Args:
        state_dict (dict): The source state dict, or a checkpoint holding
            it (:func:`mbv3.models.pretrained.unwrap`: wrapper dicts and
            ``module.``/``model.`` prefixes are removed).
        source (str): 'torchvision', 'timm', 'mmpretrain', 'mmseg', or
            'auto' to detect it from the keys (:func:`detect_source`).

    Returns:
        dict: State dict of mbv3's ``ImageClassifier`` (``backbone.*`` and
        ``head.*``), or ``backbone.*`` only when the source has no
        classifier (mmseg, timm without ``classifier``). Tensors are the
        source's, except timm's ``conv_head`` weight, flattened to 2-D.

    Raises:
        ValueError: For an unknown ``source``, or a key the source's layout
            does not have.
    """
    if source not in SOURCES + ('auto', ):
        raise ValueError(f"source must be one of {SOURCES + ('auto', )}, "
                         f'got {source!r}')
    state_dict = unwrap(state_dict)
    if source == 'auto':
        source = detect_source(state_dict)
    return _CONVERTERS[source](state_dict)


def _rows(state_dict):
    """``(kernel, mid, out, with_se)`` of each bneck in a converted dict."""
    rows, i = [], 1
    while f'backbone.layer{i}.depthwise_conv.conv.weight' in state_dict:
        prefix = f'backbone.layer{i}.'
        depthwise = state_dict[prefix + 'depthwise_conv.conv.weight']
        rows.append((depthwise.shape[-1], depthwise.shape[0],
                     state_dict[prefix + 'linear_conv.conv.weight'].shape[0],
                     prefix + 'se.conv1.conv.weight' in state_dict))
        i += 1
    return tuple(rows)


def _plan_rows(arch, widen_factor, reduction_factor):
    _, plans, last, _ = plan_layers(arch, widen_factor,
                                    reduction_factor=reduction_factor)
    return tuple((p.row.kernel_size, p.row.mid_channels, p.row.out_channels,
                  p.row.with_se) for p in plans), last


def infer_backbone(state_dict: dict) -> dict:
    """The mbv3 backbone options (``arch``, ``widen_factor``,
    ``reduction_factor``) whose layer shapes a converted state dict has.

    Kernel sizes, widths and SE presence are compared row by row with
    :func:`plan_layers` for each arch of ``ARCH_SETTINGS``, reduction
    factor 1 or 2, and ``widen_factor`` from 1.0, 0.75, 0.5, 0.35, 1.25,
    1.5, 2.0, then multiples of 0.05 and of 0.01 up to 4 (the first that
    fits). torchvision's ``width_mult`` is ``widen_factor``; timm's
    ``*_075``/``*_050`` widths are the archs ``large_075``, ``small_075``
    and ``small_050``. The activations follow from the rows (ReLU-only
    archs have no SE).

    Returns:
        dict: ``arch``, ``widen_factor`` (float) and
        ``reduction_factor`` (int).

    Raises:
        ValueError: If no arch and width have these shapes (the message
            lists them).
    """
    rows = _rows(state_dict)
    last_key = f'backbone.layer{len(rows) + 1}.conv.weight'
    last = state_dict[last_key].shape[0] if last_key in state_dict else None
    for widen_factor in _WIDTHS:
        for arch in ARCH_SETTINGS:
            for reduction_factor in _REDUCTION_FACTORS:
                if _plan_rows(arch, widen_factor,
                              reduction_factor) == (rows, last):
                    return dict(arch=arch, widen_factor=widen_factor,
                                reduction_factor=reduction_factor)
    raise ValueError(f'no mbv3 arch and widen_factor in (0, 4] have these '
                     f'bnecks (kernel, mid, out, with_se): {rows}; known '
                     f'archs: {sorted(ARCH_SETTINGS)}')


def _head_config(state_dict, in_channels, act):
    hidden = state_dict['head.layers.0.fc.weight'].shape[0]
    num_classes = state_dict['head.layers.1.fc.weight'].shape[0]
    return dict(type='StackedLinearClsHead', num_classes=num_classes,
                in_channels=in_channels, mid_channels=[hidden],
                dropout_rate=0.2, act_cfg=dict(type=act),
                hidden_bias='head.layers.0.fc.bias' in state_dict)


def model_config(state_dict: dict, source: str, options: dict,
                 name: Optional[str] = None) -> dict:
    """The mbv3 ``ImageClassifier`` config a converted state dict loads
    into strictly (a backbone-only one when it has no ``head.*``).

    Args:
        state_dict (dict): Converted state dict.
        source (str): Its family (one of :data:`SOURCES`).
        options (dict): Backbone options, from :func:`infer_backbone`.
        name (str, optional): timm model name; ``tf_*`` selects 'SAME'
            padding and BN eps 1e-3.

    Returns:
        dict: Model config.
    """
    arch = options['arch']
    num = presets.numerics(source, arch, name)
    backbone = dict(type='MobileNetV3', arch=arch,
                    norm_cfg=dict(type='BN', eps=num.eps,
                                  momentum=num.momentum))
    for key, default in (('widen_factor', 1.0), ('reduction_factor', 1)):
        if options.get(key, default) != default:
            backbone[key] = options[key]
    if num.same_padding:
        backbone['conv_cfg'] = dict(type='Conv2dSame')
    if num.output_stride != 32:
        backbone['output_stride'] = num.output_stride
    model = dict(type='ImageClassifier', backbone=backbone)
    if 'head.layers.1.fc.weight' in state_dict:
        last = state_dict[
            f'backbone.layer{len(_rows(state_dict)) + 1}.conv.weight']
        act = 'ReLU' if arch.endswith('_minimal') else 'HSwish'
        model['neck'] = dict(type='GlobalAveragePooling')
        model['head'] = _head_config(state_dict, last.shape[0], act)
    return model


def convert_checkpoint(checkpoint: dict, source: str = 'auto',
                       hint: Optional[str] = None) -> Tuple[dict, dict]:
    """Convert a checkpoint and describe the model and preprocessing it
    needs.

    Args:
        checkpoint (dict): Source checkpoint or state dict.
        source (str): As for :func:`convert_state_dict`.
        hint (str, optional): The weights' name or file path; it names timm
            models (``tf_mobilenetv3_large_100.in1k``, or the path of
            timm's downloaded file) and torchvision's V2 weights. Without
            it, timm weights are taken as timm-trained (not ``tf_``), with
            a warning.

    Returns:
        tuple[dict, dict]: The mbv3 state dict, and metadata: ``source``,
        ``arch``, ``widen_factor``, ``weights`` (the name found, or None),
        ``model`` (an mbv3 model config, :func:`model_config`) and
        ``preprocess`` (mean, std in 0..255 RGB, interpolation, resize,
        crop, crop_pct).

    Raises:
        ValueError: As :func:`convert_state_dict` and
            :func:`infer_backbone`.
    """
    state_dict = unwrap(checkpoint)
    if source == 'auto':
        source = detect_source(state_dict)
    converted = convert_state_dict(state_dict, source)
    options = infer_backbone(converted)
    arch = options['arch']
    name = presets.timm_name(hint) if source == 'timm' else None
    if source == 'timm' and name is None:
        warnings.warn('no timm model name in the weights name or path: '
                      'taking them as timm-trained (BN eps 1e-5, symmetric '
                      'padding); name TensorFlow ports, e.g. '
                      "'tf_mobilenetv3_large_100'")
    converted = {k: v.contiguous() if isinstance(v, torch.Tensor) else v
                 for k, v in converted.items()}
    meta = dict(source=source, arch=arch,
                widen_factor=options['widen_factor'],
                weights=name or (osp.basename(hint) if hint else None),
                model=model_config(converted, source, options, name),
                preprocess=presets.preprocess(source, arch, name,
                                              hint).to_dict())
    return converted, meta
