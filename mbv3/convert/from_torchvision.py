"""torchvision ``mobilenet_v3_large/small`` keys -> mbv3 keys.

torchvision's layout (``torchvision/models/mobilenetv3.py``):

* ``features.0.{0,1}``: stem conv and BN;
* ``features.i.block.j``: the units of bneck ``i`` in order: expand
  (only when it widens), depthwise, SE (``fc1``/``fc2``), project; a conv
  unit holds its conv at ``.0`` and its BN at ``.1``;
* ``features.{N+1}.{0,1}``: the last 1x1 conv and BN;
* ``classifier.0`` / ``classifier.3``: Linear to 1280 (1024) and the
  classifier.
"""
import re

_BLOCK = re.compile(r'features\.(\d+)\.block\.(\d+)\.(fc1|fc2|0|1)\.(.+)')
_PLAIN = re.compile(r'features\.(\d+)\.([01])\.(.+)')
_HEAD = {'classifier.0.': 'head.layers.0.fc.',
         'classifier.3.': 'head.layers.1.fc.'}


def _conv_units(keys):
    """For each bneck, the indices ``j`` of its conv units, in order."""
    units = {}
    for key in keys:
        m = _BLOCK.fullmatch(key)
        if m and m[3] in '01':
            units.setdefault(int(m[1]), set()).add(int(m[2]))
    return {layer: sorted(js) for layer, js in units.items()}


def _block_key(m, units):
    layer, unit, part, leaf = int(m[1]), int(m[2]), m[3], m[4]
    if part in ('fc1', 'fc2'):
        return f'backbone.layer{layer}.se.conv{part[2]}.conv.{leaf}'
    names = ['depthwise_conv', 'linear_conv']
    if len(units[layer]) == 3:
        names.insert(0, 'expand_conv')
    name = names[units[layer].index(unit)]
    return f'backbone.layer{layer}.{name}.{"conv" if part == "0" else "bn"}' \
        f'.{leaf}'


def convert(state_dict: dict) -> dict:
    """Rename a torchvision MobileNetV3 state dict to mbv3's keys.

    Args:
        state_dict (dict): torchvision ``mobilenet_v3_*`` state dict.

    Returns:
        dict: ``backbone.*`` and ``head.*`` keys of mbv3's
        ``ImageClassifier``; tensors are shared, not copied.

    Raises:
        ValueError: If a key is not part of torchvision's layout.
    """
    units = _conv_units(state_dict)
    out = {}
    for key, value in state_dict.items():
        head = next((p for p in _HEAD if key.startswith(p)), None)
        block = _BLOCK.fullmatch(key)
        plain = _PLAIN.fullmatch(key)
        if head is not None:
            out[_HEAD[head] + key[len(head):]] = value
        elif block:
            out[_block_key(block, units)] = value
        elif plain:
            part = 'conv' if plain[2] == '0' else 'bn'
            out[f'backbone.layer{plain[1]}.{part}.{plain[3]}'] = value
        else:
            raise ValueError(f'key {key!r} is not part of torchvision\'s '
                             'MobileNetV3 layout')
    return out
