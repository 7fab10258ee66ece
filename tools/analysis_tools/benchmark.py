"""Time mbv3 beside torchvision and timm MobileNetV3: a shim of
:mod:`mbv3.cli.benchmark`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('benchmark')
