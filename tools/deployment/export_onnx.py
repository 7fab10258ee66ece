"""Export a config + checkpoint to ONNX and check it in onnxruntime: a shim
of :mod:`mbv3.cli.export_onnx`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('export_onnx')
