"""Deprecated: moved to :mod:`mbv3.reports.model_zoo` (a report generator
belongs above the library layers); kept for one release."""
from .deprecation import module_moved

__getattr__ = module_moved('mbv3.utils.model_zoo',
                           'mbv3.reports.model_zoo')
