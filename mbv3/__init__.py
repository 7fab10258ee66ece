"""mbv3: MobileNetV3 backbones for PyTorch and OpenMMLab.

Importing the package registers nothing eagerly but the registries; modules
are imported when first built by name (see :mod:`mbv3.registry`).
"""
import torch as _torch

from .version import __version__, check_torch

check_torch(_torch.__version__)

from .registry import MODELS  # noqa: F401,E402  (applies mmengine fixes)

__all__ = ['__version__', 'MODELS']
