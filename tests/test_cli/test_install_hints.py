"""A package mbv3 imports is either installed with mbv3 or listed in an
extra, and a command that misses one says, in one line, what installs
it."""
import ast
import pathlib
import runpy
import sys

import pytest
import setuptools

from mbv3.cli._command import command
from mbv3.version import DISTRIBUTIONS, install_hint
from tests.conftest import REPO

# Imported by mbv3, installed by a requirement of mbv3's own requirements
TRANSITIVE = {'cv2': 'mmcv-lite', 'rich': 'mmengine', 'scipy': 'scikit-learn'}
# Installed by hand: runtimes.INSTALL_HINTS says how (docs/deployment.md)
BY_HAND = {'executorch', 'torchao'}


def setup_requirements(monkeypatch):
    """setup.py's requirements as the installed metadata lists them."""
    found = {}
    monkeypatch.setattr(setuptools, 'setup', lambda **kw: found.update(kw))
    runpy.run_path(f'{REPO}/setup.py')
    return found['install_requires'] + [
        f'{r}; extra == "{extra}"'
        for extra, reqs in found['extras_require'].items() for r in reqs]


def mbv3_imports():
    names = set()
    for path in pathlib.Path(REPO, 'mbv3').rglob('*.py'):
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            if isinstance(node, ast.Import):
                names |= {a.name.split('.')[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split('.')[0])
    return names - set(sys.stdlib_module_names) - {'mbv3'}


def test_every_import_is_a_requirement_or_in_an_extra(monkeypatch):
    requirements = setup_requirements(monkeypatch)
    runtime = {r.split(';')[0].split('>')[0].split('<')[0].lower()
               for r in requirements if 'extra ==' not in r}
    # the main job's data (digits) and val split need scikit-learn
    assert 'scikit-learn' in runtime
    imports = mbv3_imports()
    assert {'sklearn', 'skimage', 'onnxruntime', 'openvino'} <= imports
    for module in sorted(imports - BY_HAND - set(TRANSITIVE)):
        if DISTRIBUTIONS.get(module, module).lower() in runtime:
            continue
        assert install_hint(module, requirements=requirements).startswith(
            "mbv3's "), module


def test_deploy_extra_holds_every_export(monkeypatch):
    requirements = setup_requirements(monkeypatch)
    hint = install_hint('onnx', 'onnxruntime', 'onnxscript', 'skimage',
                        'openvino', 'nncf', requirements=requirements)
    assert hint == ("mbv3's deploy extra: pip install -e \".[deploy]\"; or "
                    'pip install onnx onnxruntime onnxscript scikit-image '
                    'openvino nncf')


def test_install_hint_names_the_extras():
    requirements = ['torch>=2.5', 'scikit-image; extra == "deploy"',
                    'scikit_image; extra == "train"',
                    'scikit-image; extra == "dev"', 'timm>=1.0; extra == "dev"',
                    'onnx; extra == "deploy"']
    assert install_hint('skimage.data', requirements=requirements) == (
        "mbv3's deploy or train extra: pip install -e \".[deploy]\"; or pip "
        'install scikit-image')
    assert install_hint('timm', requirements=requirements) == (
        "mbv3's dev extra: pip install -e \".[dev]\"; or pip install timm")
    assert install_hint('onnx', 'skimage', requirements=requirements) == (
        "mbv3's deploy extra: pip install -e \".[deploy]\"; or pip install "
        'onnx scikit-image')
    assert install_hint('tensorrt', requirements=requirements) == \
        'pip install tensorrt'


def test_command_names_the_extra_of_a_missing_module(monkeypatch, capsys):
    @command
    def main(argv=None):
        raise ModuleNotFoundError("No module named 'skimage'", name='skimage')

    monkeypatch.setattr(sys, 'argv', ['mbv3-export-onnx'])
    monkeypatch.setattr('mbv3.version.metadata.requires', lambda name: [
        'scikit-image; extra == "deploy"'])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    assert capsys.readouterr().err == (
        "error: ModuleNotFoundError: No module named 'skimage' (mbv3's "
        'deploy extra: pip install -e ".[deploy]"; or pip install '
        'scikit-image) (--debug shows the traceback)\n')


def test_run_names_the_extra_when_the_command_cannot_import(tmp_path):
    # a command whose module imports a package that is not installed
    # (mbv3/cli is copied, so that the fake command does not enter it)
    import shutil
    import subprocess
    shutil.copytree(f'{REPO}/mbv3', tmp_path / 'mbv3',
                    ignore=shutil.ignore_patterns('configs', '__pycache__'))
    (tmp_path / 'mbv3' / 'cli' / 'needs_onnx.py').write_text(
        'import onnxruntime_not_installed\n')
    code = "from mbv3.cli import run; run('needs_onnx')"
    out = subprocess.run([sys.executable, '-c', code], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1
    assert out.stderr == (
        "error: ModuleNotFoundError: No module named "
        "'onnxruntime_not_installed' (pip install onnxruntime_not_installed)"
        ' (--debug shows the traceback)\n')


def test_mbv3_module_gets_no_install_hint():
    from mbv3.cli._command import one_line
    err = ModuleNotFoundError("No module named 'mbv3.x'", name='mbv3.x')
    assert one_line(err) == "ModuleNotFoundError: No module named 'mbv3.x'"
