"""Train a model from an mbv3 config: a shim of :mod:`mbv3.cli.train`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('train')
