"""Export a config + checkpoint to an OpenVINO IR (int8: NNCF post-training quantization)
and check it against eager on real photos
(``tools/deployment/export_openvino.py``, ``mbv3-export-openvino``).

    python -m mbv3.cli.export_openvino CONFIG CHECKPOINT OUT.xml [--fuse]
        [--shape H W] [--int8 OUT_INT8.xml]
"""
from mbv3.cli._command import command
from mbv3.cli.export_onnx import export


@command
def main(argv=None) -> dict:
    """See :func:`mbv3.cli.export_onnx.export`."""
    return export(argv, 'openvino')


if __name__ == '__main__':
    from mbv3.cli import run
    run('export_openvino')
