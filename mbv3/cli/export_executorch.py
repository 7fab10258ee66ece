"""Export a config + checkpoint to an ExecuTorch program lowered to XNNPACK (int8: its
XNNPACK quantizer)
and check it against eager on real photos
(``tools/deployment/export_executorch.py``, ``mbv3-export-executorch``).

    python -m mbv3.cli.export_executorch CONFIG CHECKPOINT OUT.pte [--fuse]
        [--shape H W] [--int8 OUT_INT8.pte]
"""
from mbv3.cli._command import command
from mbv3.cli.export_onnx import export


@command
def main(argv=None) -> dict:
    """See :func:`mbv3.cli.export_onnx.export`."""
    return export(argv, 'executorch')


if __name__ == '__main__':
    from mbv3.cli import run
    run('export_executorch')
