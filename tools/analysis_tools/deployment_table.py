"""The deployment table of docs/deployment.md from the benchmark and accuracy JSONs: a
shim of :mod:`mbv3.cli.deployment_table`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('deployment_table')
