"""Data-pipeline throughput of a config's training pipeline: a shim of
:mod:`mbv3.cli.benchmark_pipeline`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('benchmark_pipeline')
