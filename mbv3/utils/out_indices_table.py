"""Deprecated: moved to :mod:`mbv3.reports.out_indices_table` (a report generator
belongs above the library layers); kept for one release."""
from .deprecation import module_moved

__getattr__ = module_moved('mbv3.utils.out_indices_table',
                           'mbv3.reports.out_indices_table')
