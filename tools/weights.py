"""Published MobileNetV3 weights by name: a shim of
:mod:`mbv3.cli.weights`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('weights')
