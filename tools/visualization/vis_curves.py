"""Plot loss and validation accuracy curves of a training run: a shim of
:mod:`mbv3.cli.vis_curves`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('vis_curves')
