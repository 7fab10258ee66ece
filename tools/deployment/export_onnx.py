"""Export a config + checkpoint to ONNX and check it in onnxruntime: a shim
of :mod:`mbv3.cli.export_onnx`."""
from mbv3.cli.export_onnx import main

if __name__ == '__main__':
    main()
