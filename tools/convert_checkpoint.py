"""Convert a published MobileNetV3 checkpoint to mbv3: a shim of
:mod:`mbv3.cli.convert`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('convert')
