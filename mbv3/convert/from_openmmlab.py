"""mmpretrain / mmcls and mmseg MobileNetV3 keys -> mbv3 keys.

mbv3 keeps mmpretrain's module names (``layer{i}`` with mmcv
``ConvModule`` children ``conv``/``bn``; ``expand_conv``,
``depthwise_conv``, ``se.conv1/conv2``, ``linear_conv``;
``head.layers.{i}.fc``), and mmseg's backbone uses the same ones
(``mmseg/models/backbones/mobilenet_v3.py``). Converting is selecting the
keys mbv3 has.
"""

_BACKBONE = 'backbone.'


def _with_backbone_prefix(state_dict):
    if any(k.startswith(_BACKBONE) for k in state_dict):
        return state_dict
    return {_BACKBONE + k: v for k, v in state_dict.items()}


def convert_mmpretrain(state_dict: dict) -> dict:
    """Select an mmpretrain ``ImageClassifier`` (or bare backbone) state
    dict's ``backbone.*`` and ``head.*`` keys.

    Args:
        state_dict (dict): mmpretrain/mmcls MobileNetV3 state dict, with
            ``backbone.``/``head.`` prefixes or a bare backbone's keys.

    Returns:
        dict: mbv3 ``ImageClassifier`` keys.

    Raises:
        ValueError: For a key outside ``backbone.*``, ``neck.*`` and
            ``head.*`` (the pooling neck has none).
    """
    state_dict = _with_backbone_prefix(state_dict)
    out = {}
    for key, value in state_dict.items():
        if not key.startswith((_BACKBONE, 'head.', 'neck.')):
            raise ValueError(f'key {key!r} is not part of mmpretrain\'s '
                             'MobileNetV3 ImageClassifier layout')
        if not key.startswith('neck.'):
            out[key] = value
    return out


def convert_mmseg(state_dict: dict) -> dict:
    """Keep an mmseg segmentor's (or bare backbone's) ``backbone.*`` keys;
    the decode and auxiliary heads are dropped.

    Args:
        state_dict (dict): mmseg state dict with a MobileNetV3 backbone.

    Returns:
        dict: Backbone-only mbv3 keys, ``backbone.*``.
    """
    state_dict = _with_backbone_prefix(state_dict)
    return {k: v for k, v in state_dict.items() if k.startswith(_BACKBONE)}
