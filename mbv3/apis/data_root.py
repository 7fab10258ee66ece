"""Deprecated: moved to :mod:`mbv3.datasets.data_root` (a model loader
below :mod:`mbv3.apis` needs it); kept for one release."""
from mbv3.utils.deprecation import module_moved

__getattr__ = module_moved('mbv3.apis.data_root', 'mbv3.datasets.data_root')
