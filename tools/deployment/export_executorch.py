"""Export a config + checkpoint to an ExecuTorch program lowered to XNNPACK: a shim of
:mod:`mbv3.cli.export_executorch`."""
from mbv3.cli.export_executorch import main

if __name__ == '__main__':
    main()
