"""Write the model zoo table: a shim of :mod:`mbv3.cli.model_zoo`."""
from mbv3.cli.model_zoo import main

if __name__ == '__main__':
    main()
