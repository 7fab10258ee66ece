"""Export a config + checkpoint to ONNX and check it in onnxruntime.

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT OUT.onnx \
        [--fuse] [--opset 17] [--shape H W] [--int8 OUT_INT8.onnx]
"""
import sys

from mbv3.apis.command import run_command
from mbv3.deploy.export import main

if __name__ == '__main__':
    sys.exit(run_command(main))
