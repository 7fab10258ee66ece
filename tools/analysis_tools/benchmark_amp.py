"""Training-step speed of fp32 against autocast bf16: a shim of
:mod:`mbv3.cli.benchmark_amp`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('benchmark_amp')
