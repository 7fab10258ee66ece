"""Print the out_indices table of docs/backbone_api.md, or rewrite it in place: a shim of
:mod:`mbv3.cli.out_indices_table`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('out_indices_table')
