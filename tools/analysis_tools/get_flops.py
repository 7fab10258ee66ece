"""Parameters, MACs, activations and non-linearity ops of a config's model:
a shim of :mod:`mbv3.cli.flops`."""
from mbv3.cli.flops import main

if __name__ == '__main__':
    main()
