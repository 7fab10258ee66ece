"""``mbv3-export-executorch`` (``tools/deployment/export_executorch.py``):
a ``.pte`` lowered to XNNPACK, int8 through its quantizer; usage as in
:mod:`mbv3.cli.export_onnx`."""
from mbv3.cli.export_onnx import runtime_main

main = runtime_main('executorch')

if __name__ == '__main__':
    from mbv3.cli import run
    run('export_executorch')
