"""Published MobileNetV3 weights by name: a shim of
:mod:`mbv3.cli.weights`."""
from mbv3.cli.weights import main

if __name__ == '__main__':
    main()
