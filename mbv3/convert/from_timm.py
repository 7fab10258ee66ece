"""timm ``mobilenetv3_*`` / ``tf_mobilenetv3_*`` keys -> mbv3 keys.

timm's layout (``timm/models/mobilenetv3.py``, ``_efficientnet_blocks.py``):

* ``conv_stem`` / ``bn1``: the stem;
* ``blocks.s.j``: block ``j`` of stage ``s``; in order they are mbv3's
  bnecks ``layer1 .. layerN`` and then the last 1x1 conv:

  - depthwise-separable block (no expansion; the first bneck):
    ``conv_dw``/``bn1`` depthwise, ``se``, ``conv_pw``/``bn2`` project;
  - inverted residual: ``conv_pw``/``bn1`` expand, ``conv_dw``/``bn2``
    depthwise, ``se``, ``conv_pwl``/``bn3`` project;
  - conv-BN-act (the last 1x1 conv): ``conv``/``bn1``;
  - SE: ``se.conv_reduce`` / ``se.conv_expand``;
* ``conv_head`` (a 1x1 conv with bias on the pooled features) and
  ``classifier``: mbv3's ``head.layers.0.fc`` / ``head.layers.1.fc``.
"""
import re

_BLOCK = re.compile(r'blocks\.(\d+)\.(\d+)\.([a-z_]+\d?)\.(.+)')
_STEM = {'conv_stem.': 'conv.', 'bn1.': 'bn.'}
_SE = {'se.conv_reduce.': 'se.conv1.conv.', 'se.conv_expand.': 'se.conv2.conv.'}
_DS = {'conv_dw': 'depthwise_conv.conv', 'bn1': 'depthwise_conv.bn',
       'conv_pw': 'linear_conv.conv', 'bn2': 'linear_conv.bn'}
_IR = {'conv_pw': 'expand_conv.conv', 'bn1': 'expand_conv.bn',
       'conv_dw': 'depthwise_conv.conv', 'bn2': 'depthwise_conv.bn',
       'conv_pwl': 'linear_conv.conv', 'bn3': 'linear_conv.bn'}
_CN = {'conv': 'conv', 'bn1': 'bn'}


def _block_tables(keys):
    """Map ``(stage, index)`` to (mbv3 layer number, child-name table)."""
    parts = {}
    for key in keys:
        m = _BLOCK.fullmatch(key)
        if m:
            parts.setdefault((int(m[1]), int(m[2])), set()).add(m[3])
    tables = {}
    for number, block in enumerate(sorted(parts), start=1):
        children = parts[block]
        if 'conv_pwl' in children:
            table = _IR
        elif 'conv_dw' in children:
            table = _DS
        else:
            table = _CN
        tables[block] = (number, table)
    return tables


def _head_key(key, value):
    if key.startswith('conv_head.'):
        leaf = key[len('conv_head.'):]
        if leaf == 'weight':
            value = value.flatten(1)  # (C_out, C_in, 1, 1) -> (C_out, C_in)
        return f'head.layers.0.fc.{leaf}', value
    return 'head.layers.1.fc.' + key[len('classifier.'):], value


def convert(state_dict: dict) -> dict:
    """Rename a timm MobileNetV3 state dict to mbv3's keys.

    Args:
        state_dict (dict): State dict of a timm ``mobilenetv3_*`` or
            ``tf_mobilenetv3_*`` model.

    Returns:
        dict: ``backbone.*`` and, when the source has ``conv_head`` and
        ``classifier``, ``head.*`` keys of mbv3's ``ImageClassifier``.

    Raises:
        ValueError: If a key is not part of timm's MobileNetV3 layout.
    """
    tables = _block_tables(state_dict)
    with_head = 'classifier.weight' in state_dict
    out = {}
    for key, value in state_dict.items():
        stem = next((p for p in _STEM if key.startswith(p)), None)
        m = _BLOCK.fullmatch(key)
        if stem is not None:
            out['backbone.layer0.' + _STEM[stem] + key[len(stem):]] = value
        elif m:
            number, table = tables[int(m[1]), int(m[2])]
            rest = f'{m[3]}.{m[4]}'
            se = next((p for p in _SE if rest.startswith(p)), None)
            if se is not None:
                name = _SE[se] + rest[len(se):]
            elif m[3] in table:
                name = f'{table[m[3]]}.{m[4]}'
            else:
                raise ValueError(f'key {key!r} is not part of timm\'s '
                                 'MobileNetV3 layout')
            out[f'backbone.layer{number}.{name}'] = value
        elif key.startswith(('conv_head.', 'classifier.')):
            if with_head:
                name, value = _head_key(key, value)
                out[name] = value
        else:
            raise ValueError(f'key {key!r} is not part of timm\'s '
                             'MobileNetV3 layout')
    return out
