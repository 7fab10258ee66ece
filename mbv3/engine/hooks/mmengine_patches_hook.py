"""Opt in to mbv3's mmengine fixes from a config."""
from mmengine.hooks import Hook

from mbv3.registry import HOOKS


@HOOKS.register_module()
class MMEngineFixesHook(Hook):
    """Apply :func:`mbv3.engine.mmengine_patches.apply_mmengine_fixes` when
    the Runner builds its hooks.

    mbv3's own commands apply the fixes themselves. A job started by
    another library's ``tools/train.py`` (mmpretrain, mmdet, mmseg) that
    wants them (resume on torch >= 2.6, atomic checkpoint writes) lists
    ``custom_hooks=[dict(type='mbv3.MMEngineFixesHook')]``. The hook is
    built in ``Runner.__init__``, before ``load_from``/``resume`` are read,
    so they go through the fixed loader. ``_base_ = 'pkg::...'`` configs
    are parsed before any hook exists; they need mbv3's commands (or an
    explicit ``apply_mmengine_fixes()`` call).
    """

    def __init__(self):
        from mbv3.engine.mmengine_patches import apply_mmengine_fixes
        self.applied = apply_mmengine_fixes()
