"""Compile time of Conv2d against Conv2dSame: a shim of
:mod:`mbv3.cli.benchmark_compile`."""
from mbv3.cli.benchmark_compile import main

if __name__ == '__main__':
    main()
