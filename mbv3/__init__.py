"""mbv3: MobileNetV3 backbones for PyTorch and OpenMMLab.

Importing the package, or any ``mbv3.*`` module, only registers mbv3's
registries and components (modules are imported when first built by name,
see :mod:`mbv3.registry`) and one new checkpoint prefix, ``mbv3://NAME``
(published weights by name, :mod:`mbv3.convert.hub`), with mmengine's
``CheckpointLoader``; no existing loader changes, and nothing else in
mmengine or torch. mbv3's fixes for mmengine 0.10.7 are applied by its own
commands (:mod:`mbv3.engine.mmengine_patches`).
"""
import torch as _torch
from mmengine.runner.checkpoint import CheckpointLoader

from .version import __version__, check_torch

check_torch(_torch.__version__)

from .registry import MODELS  # noqa: E402

__all__ = ['__version__', 'MODELS']


def _load_weights_by_name(filename, map_location=None):
    from .convert.hub import load_by_name
    return load_by_name(filename, map_location)


CheckpointLoader.register_scheme(prefixes='mbv3://',
                                 loader=_load_weights_by_name)
