"""mbv3: MobileNetV3 backbones for PyTorch and OpenMMLab.

Importing the package registers nothing eagerly but the registries; modules
are imported when first built by name (see :mod:`mbv3.registry`).
"""
from .registry import MODELS  # noqa: F401  (applies mmengine fixes)
from .version import __version__

__all__ = ['__version__', 'MODELS']
