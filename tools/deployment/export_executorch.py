"""Export a config + checkpoint to an ExecuTorch program lowered to XNNPACK: a shim of
:mod:`mbv3.cli.export_executorch`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('export_executorch')
