"""Write the model zoo table: a shim of :mod:`mbv3.cli.model_zoo`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('model_zoo')
