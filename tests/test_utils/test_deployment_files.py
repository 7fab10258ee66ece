"""An exported model (ONNX, OpenVINO IR, TorchScript, torch.export,
ExecuTorch) given where a checkpoint is expected is named in one line:
what the file is and what runs it (issue 23)."""
import importlib.util
import os

import pytest
import torch

from mbv3.utils.deployment_files import DeploymentFileError
from tests.conftest import DIGITS_CONFIG

KIND = 'deployment file given as a checkpoint'
WHAT = {
    'model.onnx': ('an ONNX model', "load_runner('onnxruntime', '{path}')"),
    'model.xml': ('an OpenVINO IR', "load_runner('openvino', '{stem}.xml')"),
    'model.bin': ('an OpenVINO IR', "load_runner('openvino', '{stem}.xml')"),
    'model.pt': ('a TorchScript program', "torch.jit.load('{path}')"),
    'model.pt2': ('a torch.export program', "torch.export.load('{path}')"),
    'model.pte': ('an ExecuTorch program',
                  "load_runner('executorch', '{path}')"),
}
NEEDS = {'model.xml': 'openvino', 'model.bin': 'openvino',
         'model.pte': 'executorch'}


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """Each kind of file, exported from a tiny conv net."""
    folder = tmp_path_factory.mktemp('exported')
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3),
                                torch.nn.ReLU()).eval()
    x = torch.rand(1, 3, 16, 16)
    torch.onnx.export(model, (x, ), str(folder / 'model.onnx'),
                      dynamo=False)
    torch.jit.trace(model, x).save(str(folder / 'model.pt'))
    program = torch.export.export(model, (x, ))
    torch.export.save(program, str(folder / 'model.pt2'))
    if importlib.util.find_spec('openvino'):
        import openvino as ov
        ov.save_model(ov.convert_model(model, example_input=x),
                      str(folder / 'model.xml'))
    if importlib.util.find_spec('executorch'):
        from executorch.exir import to_edge
        (folder / 'model.pte').write_bytes(
            to_edge(program).to_executorch().buffer)
    return folder


def expected(folder, name):
    path = str(folder / name)
    what, runner = WHAT[name]
    runner = runner.format(path=path, stem=os.path.splitext(path)[0])
    return (f'{path!r} is {what}', 'run it with ', runner,
            'test.py, infer.py, convert_checkpoint.py and load_from take '
            'the .pth or .safetensors checkpoint it was exported from')


def call(command, path, tmp_path):
    if command == 'load_from':
        from mmengine.runner import load_checkpoint

        from mbv3.engine.mmengine_patches import apply_mmengine_fixes
        apply_mmengine_fixes()  # as mbv3's commands do
        return load_checkpoint(torch.nn.Linear(1, 1), path)
    from mbv3.cli import convert, infer, test
    images = str(tmp_path / 'img')
    os.makedirs(images, exist_ok=True)
    argv = {'test.py': (test.main, [DIGITS_CONFIG, path]),
            'infer.py': (infer.main, [DIGITS_CONFIG, path, images]),
            'infer.py -': (infer.main, ['-', path, images]),
            'convert_checkpoint.py': (convert.main, [
                path, str(tmp_path / 'out.safetensors')])}
    main, args = argv[command]
    return main(args)


COMMANDS = ('test.py', 'infer.py', 'infer.py -', 'convert_checkpoint.py',
            'load_from')


@pytest.mark.parametrize('name,command', [
    pytest.param(name, command, marks=pytest.mark.reliability(
        kind=KIND, case=f'{name} to {command}'))
    for name in WHAT for command in COMMANDS])
def test_exported_model_is_named(exported, tmp_path, name, command):
    if name in NEEDS and not importlib.util.find_spec(NEEDS[name]):
        pytest.skip(f'{NEEDS[name]} is not installed')
    with pytest.raises(DeploymentFileError) as err:
        call(command, str(exported / name), tmp_path)
    message = str(err.value)
    assert '\n' not in message
    for part in expected(exported, name):
        assert part in message
