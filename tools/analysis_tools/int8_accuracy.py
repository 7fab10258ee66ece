"""Top-1 of every int8 path against fp32, per data set: a shim of
:mod:`mbv3.cli.int8_accuracy`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('int8_accuracy')
