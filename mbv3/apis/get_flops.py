"""Deprecated: the command moved to :mod:`mbv3.cli.flops`."""
from mbv3.utils.deprecation import moved

main = moved('mbv3.apis.get_flops.main', 'mbv3.cli.flops.main')
parse_flops_args = moved('mbv3.apis.get_flops.parse_flops_args',
                         'mbv3.cli.flops.parse_args')
