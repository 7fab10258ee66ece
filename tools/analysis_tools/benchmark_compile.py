"""Compile time of Conv2d against Conv2dSame: a shim of
:mod:`mbv3.cli.benchmark_compile`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('benchmark_compile')
