"""Deprecated: the command moved to :mod:`mbv3.cli.convert`."""
from mbv3.utils.deprecation import moved

main = moved('mbv3.convert.cli.main', 'mbv3.cli.convert.main')
parse_args = moved('mbv3.convert.cli.parse_args',
                   'mbv3.cli.convert.parse_args')
