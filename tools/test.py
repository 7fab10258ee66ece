"""Evaluate a checkpoint: a shim of :mod:`mbv3.cli.test`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('test')
