"""``mbv3-export-openvino``, ``tools/deployment/export_openvino.py``: an
OpenVINO IR, int8 through NNCF (usage: :mod:`mbv3.cli.export_onnx`)."""
from mbv3.cli.export_onnx import runtime_main

main = runtime_main('openvino')

if __name__ == '__main__':
    from mbv3.cli import run
    run('export_openvino')
