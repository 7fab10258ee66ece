"""Time mbv3 beside torchvision and timm MobileNetV3: a shim of
:mod:`mbv3.cli.benchmark`."""
from mbv3.cli.benchmark import main

if __name__ == '__main__':
    main()
