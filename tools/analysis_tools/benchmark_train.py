"""Where a training iteration's time goes: a shim of
:mod:`mbv3.cli.benchmark_train`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('benchmark_train')
