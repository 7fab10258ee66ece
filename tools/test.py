"""Evaluate a checkpoint: a shim of :mod:`mbv3.cli.test`."""
from mbv3.cli.test import main

if __name__ == '__main__':
    main()
