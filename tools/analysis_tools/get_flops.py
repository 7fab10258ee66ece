"""Parameters, MACs, activations and non-linearity ops of a config's model:
a shim of :mod:`mbv3.cli.flops`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('flops')
