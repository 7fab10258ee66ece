"""mbv3: MobileNetV3 backbones for PyTorch and OpenMMLab.

Importing the package, or any ``mbv3.*`` module, only registers mbv3's
registries and components (modules are imported when first built by name,
see :mod:`mbv3.registry`); it changes nothing in mmengine or torch. mbv3's
fixes for mmengine 0.10.7 are applied by its own commands
(:mod:`mbv3.engine.mmengine_fixes`).
"""
from .registry import MODELS
from .version import __version__

__all__ = ['__version__', 'MODELS']
