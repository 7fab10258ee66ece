"""Convert a published MobileNetV3 checkpoint to mbv3: a shim of
:mod:`mbv3.cli.convert`."""
from mbv3.cli.convert import main

if __name__ == '__main__':
    main()
