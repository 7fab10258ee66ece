"""Recognise an exported deployment file given where a checkpoint is
expected (``test.py``, ``infer.py``, ``convert_checkpoint.py``,
``load_from``), so the error names what the file is and what runs it."""
import os.path as osp
import zipfile
from typing import Optional

# what the file is -> what runs it
KINDS = {
    'onnx': ('an ONNX model (tools/deployment/export_onnx.py writes it)',
             "onnxruntime: mbv3.deploy.load_runner('onnxruntime', 'PATH')"),
    'openvino': ('an OpenVINO IR (tools/deployment/export_openvino.py '
                 'writes it)', "OpenVINO: mbv3.deploy.load_runner("
                 "'openvino', 'PATH.xml')"),
    'torchscript': ('a TorchScript program (torch.jit.save)',
                    "torch.jit.load('PATH')"),
    'torch.export': ('a torch.export program (torch.export.save)',
                     "torch.export.load('PATH')"),
    'executorch': ('an ExecuTorch program (tools/deployment/'
                   'export_executorch.py writes it)',
                   'ExecuTorch: mbv3.deploy.load_runner('
                   "'executorch', 'PATH')"),
}


class DeploymentFileError(ValueError):
    """An exported model was given where a checkpoint is expected."""


def _head(path: str, size: int = 512) -> bytes:
    with open(path, 'rb') as f:
        return f.read(size)


def _is_openvino_xml(path: str) -> bool:
    return osp.isfile(path) and b'<net ' in _head(path)


def deployment_file_kind(path: str) -> Optional[str]:
    """Which kind of :data:`KINDS` the file ``path`` is, read from its
    first bytes (and, for a zip archive, its member names), or None.

    * ONNX: a protobuf ``ModelProto``, whose first fields are
      ``ir_version`` (tag ``0x08``) and ``producer_name`` (tag ``0x12``);
    * OpenVINO: an XML ``<net>`` file, or the ``.bin`` beside one;
    * TorchScript: a zip archive with ``constants.pkl`` or ``code/``;
    * torch.export: a zip archive with ``archive_format``;
    * ExecuTorch: a flatbuffer whose file identifier (bytes 4-7) is
      ``ET`` and a version.
    """
    head = _head(path)
    if head[:1] == b'\x08' and b'\x12' in head[2:4] or \
            path.lower().endswith('.onnx'):
        return 'onnx'
    if b'<net ' in head or path.lower().endswith('.bin') and \
            _is_openvino_xml(osp.splitext(path)[0] + '.xml'):
        return 'openvino'
    if head[4:6] == b'ET' and head[6:8].isdigit():
        return 'executorch'
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        if any(n.endswith('/archive_format') for n in names):
            return 'torch.export'
        if any(n.endswith('/constants.pkl') or '/code/' in n
               for n in names):
            return 'torchscript'
    return None


def check_not_deployment_file(path: str) -> None:
    """Raise :class:`DeploymentFileError` when ``path`` is an exported
    model, not a checkpoint.

    Raises:
        DeploymentFileError: One line: the file, what it is, what runs it,
            and that a ``.pth``/``.safetensors`` checkpoint is needed.
    """
    kind = deployment_file_kind(path)
    if kind is None:
        return
    what, runner = KINDS[kind]
    # an IR is run from its .xml, whichever of its two files was given
    named = osp.splitext(path)[0] if kind == 'openvino' else path
    raise DeploymentFileError(
        f'{path!r} is {what}, not a checkpoint: run it with '
        f'{runner.replace("PATH", repr(named)[1:-1])}; test.py, infer.py, '
        'convert_checkpoint.py and load_from take the .pth or .safetensors '
        'checkpoint it was exported from')
