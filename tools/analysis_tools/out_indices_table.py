"""Print the README's out_indices table, or rewrite it in place: a shim of
:mod:`mbv3.cli.out_indices_table`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('out_indices_table')
