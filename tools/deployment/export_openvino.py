"""Export a config + checkpoint to an OpenVINO IR: a shim of
:mod:`mbv3.cli.export_openvino`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('export_openvino')
