"""Deprecated: the command moved to :mod:`mbv3.cli.infer`; the library
functions are in :mod:`mbv3.apis.inference`."""
from mbv3.utils.deprecation import moved
from .inference import OUT_FORMATS, format_result, save_results

__all__ = ['OUT_FORMATS', 'format_result', 'save_results', 'infer',
           'parse_infer_args']

infer = moved('mbv3.apis.infer.infer', 'mbv3.cli.infer.main')
parse_infer_args = moved('mbv3.apis.infer.parse_infer_args',
                         'mbv3.cli.infer.parse_args')
