"""mbv3: MobileNetV3 backbones for PyTorch and OpenMMLab.

Importing the package registers nothing eagerly but the registries; modules
are imported when first built by name (see :mod:`mbv3.registry`). It also
adds the ``mbv3://NAME`` checkpoint prefix to mmengine's
``CheckpointLoader`` (a new prefix, so no other loader changes): published
weights by name in ``init_cfg`` and ``load_from``
(:mod:`mbv3.convert.hub`).
"""
from mmengine.runner.checkpoint import CheckpointLoader

from .registry import MODELS  # noqa: F401  (applies mmengine fixes)
from .version import __version__

__all__ = ['__version__', 'MODELS']


def _load_weights_by_name(filename, map_location=None):
    from .convert.hub import load_by_name
    return load_by_name(filename, map_location)


CheckpointLoader.register_scheme(prefixes='mbv3://',
                                 loader=_load_weights_by_name)
