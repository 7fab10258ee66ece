"""Pretrained weights as users bring them: find the state dict inside a
checkpoint, name its layout, and load it into a module only when it
covers it.

Checkpoint files wrap their state dict in ways these functions undo:

* a dict around it: ``state_dict`` (mmengine, timm and Lightning
  training), ``model`` (DeiT-style and torchvision reference scripts),
  ``module``, and the EMA copies ``state_dict_ema`` (timm),
  ``ema_state_dict`` (mmengine's ``EMAHook``) and ``model_ema``;
* a prefix on every key: ``module.`` (``DataParallel``,
  ``DistributedDataParallel``, mmengine's and torch's averaged models,
  whose ``steps``/``n_averaged`` counters are dropped with it) and
  ``model.`` (a Lightning module holding the network as ``self.model``).
"""
import os
import os.path as osp
import warnings
from typing import Optional

from mmengine.model.weight_init import PretrainedInit, update_init_info
from torch import nn

SOURCES = ('torchvision', 'timm', 'mmpretrain', 'mmseg')
WRAPPER_KEYS = ('state_dict', 'model', 'module')
EMA_KEYS = ('state_dict_ema', 'ema_state_dict', 'model_ema')
WRAPPER_PREFIXES = ('module.', 'model.')
# Buffers an averaged-model wrapper keeps next to ``module.*``.
_AVERAGING_COUNTERS = ('steps', 'n_averaged')


def strip_wrapper_prefixes(state_dict: dict) -> dict:
    """Remove ``module.``/``model.`` prefixes that every key carries
    (repeatedly: ``module.model.`` too).

    Returns:
        dict: The state dict with the prefixes (and an averaged model's
        counters) removed; the input itself when no key has them.
    """
    while True:
        keys = [k for k in state_dict if k not in _AVERAGING_COUNTERS]
        prefix = next((p for p in WRAPPER_PREFIXES
                       if keys and all(k.startswith(p) for k in keys)), None)
        if prefix is None:
            return state_dict
        state_dict = {k[len(prefix):]: v for k, v in state_dict.items()
                      if k not in _AVERAGING_COUNTERS}


def unwrap(checkpoint: dict, ema: bool = False) -> dict:
    """The state dict inside a checkpoint, without wrapper prefixes.

    Args:
        checkpoint (dict): A checkpoint or a state dict.
        ema (bool): Prefer the EMA copy (``state_dict_ema``,
            ``ema_state_dict``, ``model_ema``) when the checkpoint has one.
            Defaults to False: the first of ``state_dict``, ``model``,
            ``module``, then an EMA copy when it is the only one.

    Returns:
        dict: The state dict (see the module docstring for what is
        removed).

    Raises:
        TypeError: If ``checkpoint`` is not a dict.
    """
    if not isinstance(checkpoint, dict):
        raise TypeError(f'checkpoint must be a dict, got '
                        f'{type(checkpoint).__name__}')
    order = EMA_KEYS + WRAPPER_KEYS if ema else WRAPPER_KEYS + EMA_KEYS
    key = next((k for k in order if isinstance(checkpoint.get(k), dict)),
               None)
    return strip_wrapper_prefixes(checkpoint[key] if key else checkpoint)


def detect_source(state_dict: dict) -> str:
    """Name the family of a MobileNetV3 state dict from its keys.

    ``features.*`` is torchvision, ``conv_stem.*`` timm, ``decode_head.*``
    (next to ``backbone.*``) mmseg, and ``backbone.layer0.*`` or a bare
    ``layer0.*`` mmpretrain (mbv3's own layout). A bare mmseg backbone has
    the same keys as a bare mmpretrain one: name it with
    ``source='mmseg'``.

    Raises:
        ValueError: If the keys match no family.
    """
    keys = list(state_dict)
    if 'features.0.0.weight' in state_dict:
        return 'torchvision'
    if 'conv_stem.weight' in state_dict:
        return 'timm'
    if any(k.startswith('decode_head.') for k in keys):
        return 'mmseg'
    if 'backbone.layer0.conv.weight' in state_dict or \
            'layer0.conv.weight' in state_dict:
        return 'mmpretrain'
    raise ValueError(f'cannot tell the source of this state dict from its '
                     f'keys (first ones: {keys[:3]}); pass source= one of '
                     f'{SOURCES}')


def _layout_and_fix(state_dict, checkpoint, prefix, backbone):
    """What a state dict is, and what makes it load into a backbone (or,
    ``backbone=False``, a whole classifier)."""
    try:
        source = detect_source(state_dict)
    except ValueError:
        return (f'keys like {list(state_dict)[:3]}, no MobileNetV3 layout '
                'mbv3 knows', 'check that this is a MobileNetV3 checkpoint')
    if source in ('torchvision', 'timm'):
        stem = osp.splitext(osp.basename(checkpoint))[0]
        into = " with prefix='backbone.'" if backbone else ''
        return (f'a {source} MobileNetV3 state dict',
                f'convert it first (python tools/convert_checkpoint.py '
                f'{checkpoint} {stem}_mbv3.pth) and load the result{into}')
    if 'backbone.layer0.conv.weight' in state_dict:
        what = 'an mmseg segmentor' if source == 'mmseg' else \
            'an mbv3/mmpretrain ImageClassifier'
        if prefix == 'backbone.':
            return (f'{what} state dict', 'build the backbone the '
                    'checkpoint was made for (arch, widen_factor)')
        return (f'{what} state dict (keys backbone.*)',
                "add prefix='backbone.' to the init_cfg")
    if prefix:
        return ('an mbv3/mmpretrain backbone state dict (keys layer0.* ..)',
                f'remove prefix={prefix!r} from the init_cfg')
    return ('an mbv3/mmpretrain backbone state dict',
            'build the backbone the checkpoint was made for (arch, '
            'widen_factor)')


def _read(checkpoint, map_location):
    from mmengine.runner.checkpoint import CheckpointLoader

    from mbv3.utils.checkpoint import load_checkpoint_file
    if osp.isfile(checkpoint):
        return load_checkpoint_file(checkpoint, map_location=map_location)
    return CheckpointLoader.load_checkpoint(checkpoint,
                                            map_location=map_location)


def _names(keys, limit=3):
    keys = sorted(keys)
    more = f' and {len(keys) - limit} more' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def load_pretrained(module: nn.Module, checkpoint: str,
                    prefix: Optional[str] = None,
                    map_location='cpu') -> list:
    """Load a ``Pretrained`` init_cfg's checkpoint into ``module``, and
    refuse or warn when it does not cover the module.

    mmengine's ``PretrainedInit`` loads with ``strict=False`` and reports
    the keys it skipped inside a log dump, so a file in another layout (an
    unconverted torchvision one, a classifier loaded without
    ``prefix='backbone.'``) changes nothing and training starts from
    random weights. This loads the tensors whose name and shape match and
    says, in one line, what the file holds and how to make it fit.

    Args:
        module (nn.Module): The module to fill.
        checkpoint (str): A local file, or any URL mmengine's
            ``CheckpointLoader`` reads (``https://``, ``open-mmlab://``).
        prefix (str, optional): Load only the keys under it, with the
            prefix removed (``'backbone.'`` for a classifier's backbone).
        map_location: As for :func:`torch.load`. Defaults to 'cpu'.

    Returns:
        list[str]: The keys of ``module.state_dict()`` that were loaded.

    Raises:
        ValueError: If no tensor of the file fits ``module`` (the message
            names the file, the layout found and the fix).

    Warns:
        UserWarning: If it covers only part of ``module`` (same message,
            plus the first keys missing or of another shape).
    """
    checkpoint = os.fspath(checkpoint)
    state_dict = unwrap(_read(checkpoint, map_location))
    selected = state_dict
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        selected = {k[len(prefix):]: v for k, v in state_dict.items()
                    if k.startswith(prefix)}
    own = module.state_dict()
    matched = {k: v for k, v in selected.items()
               if k in own and tuple(v.shape) == tuple(own[k].shape)}
    if len(matched) < len(own):
        layout, fix = _layout_and_fix(state_dict, checkpoint, prefix,
                                      not hasattr(module, 'backbone'))
        wrong = [k for k in selected if k in own and k not in matched]
        missing = [k for k in own if k not in selected]
        detail = f' (missing: {_names(missing) or "none"}; other shape: ' \
            f'{_names(wrong) or "none"})' if matched else ''
        message = (f'Pretrained checkpoint {checkpoint!r} fills '
                   f'{len(matched)} of {len(own)} tensors of '
                   f'{type(module).__name__}{detail}: it holds {layout}; '
                   f'{fix}')
        if not matched:
            raise ValueError(message)
        warnings.warn(message)
    module.load_state_dict(matched, strict=False)
    return list(matched)


class CheckedPretrainedInit(PretrainedInit):
    """mmengine's ``Pretrained`` initializer, loading through
    :func:`load_pretrained`: an error when nothing fits, a warning naming
    the layout and the fix when part of the module is left out."""

    def __call__(self, module: nn.Module) -> None:
        load_pretrained(module, self.checkpoint, prefix=self.prefix,
                        map_location=self.map_location)
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())


def with_checked_pretrained(init_cfg):
    """``init_cfg`` with its ``Pretrained`` entries loading through
    :class:`CheckedPretrainedInit`, after the other entries (as mmengine
    orders them).

    Args:
        init_cfg (dict | list[dict] | None): An mmengine init config.

    Returns:
        list[dict]: The entries, ``Pretrained`` ones last.
    """
    cfgs = init_cfg if isinstance(init_cfg, list) else \
        [init_cfg] if init_cfg else []
    others = [c for c in cfgs if c.get('type') != 'Pretrained']
    return others + [dict(c, type=CheckedPretrainedInit) for c in cfgs
                     if c.get('type') == 'Pretrained']


class CheckedPretrainedMixin:
    """For an mmengine ``BaseModule``: a ``Pretrained`` init_cfg entry
    loads through :func:`load_pretrained` (an error when the file fills
    nothing, a warning naming the layout and the fix when it fills part).
    """

    def init_weights(self) -> None:
        """Apply ``init_cfg``, the ``Pretrained`` entry last and checked.

        Raises:
            ValueError: If the ``Pretrained`` checkpoint fills no tensor.
        """
        init_cfg, self.init_cfg = self.init_cfg, \
            with_checked_pretrained(self.init_cfg)
        try:
            super().init_weights()
        finally:
            self.init_cfg = init_cfg


def init_cfg_from_pretrained(pretrained: Optional[str], init_cfg):
    """The init_cfg for mmseg's and mmdet's deprecated ``pretrained=``
    backbone argument (their configs still set it, e.g.
    ``pretrained='open-mmlab://contrib/mobilenet_v3_large'``, and their
    ``EncoderDecoder`` passes it on to the backbone).

    Args:
        pretrained (str, optional): Checkpoint path or URL.
        init_cfg: The init_cfg given alongside it (None when not given).

    Returns:
        ``dict(type='Pretrained', checkpoint=pretrained)``, or ``init_cfg``
        when ``pretrained`` is None.

    Raises:
        ValueError: If both are given (as mmseg's backbones refuse it).
        TypeError: If ``pretrained`` is not a str.

    Warns:
        FutureWarning: That ``pretrained`` is deprecated.
    """
    if pretrained is None:
        return init_cfg
    if init_cfg is not None:
        raise ValueError(f'init_cfg and pretrained cannot be set at the '
                         f'same time, got init_cfg={init_cfg!r} and '
                         f'pretrained={pretrained!r}; use init_cfg=dict('
                         f"type='Pretrained', checkpoint=...)")
    if not isinstance(pretrained, str):
        raise TypeError(f'pretrained must be a str or None, got '
                        f'{type(pretrained).__name__}')
    warnings.warn(f'pretrained is deprecated; use init_cfg=dict('
                  f"type='Pretrained', checkpoint={pretrained!r})",
                  FutureWarning, stacklevel=3)
    return dict(type='Pretrained', checkpoint=pretrained)
