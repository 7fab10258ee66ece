"""Train a model from an mbv3 config: a shim of :mod:`mbv3.cli.train`."""
from mbv3.cli.train import main

if __name__ == '__main__':
    main()
