"""mbv3 states the oldest torch it runs on, and says so at import."""
import subprocess
import sys

import pytest
import torch

from mbv3.version import MIN_TORCH, check_torch
from tests.conftest import REPO


def test_minimum_has_what_mbv3_calls():
    # the torch APIs behind the minimum (see mbv3/version.py)
    assert MIN_TORCH == (2, 5)
    assert callable(torch.serialization.safe_globals)
    assert 'dynamo' in torch.onnx.export.__code__.co_varnames
    assert callable(torch.nn.Module.register_load_state_dict_pre_hook)
    with open(f'{REPO}/setup.py') as f:
        assert "'torch>=2.5'" in f.read()


@pytest.mark.parametrize('version', ['2.5.0', '2.14.1+cpu', '3.0.0a0+git'])
def test_new_enough(version):
    check_torch(version)


def test_import_on_older_torch_fails_in_one_line():
    code = ("import torch; torch.__version__ = '2.4.1+cpu'; import mbv3")
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        'ImportError: mbv3 needs torch >= 2.5 '
        '(torch.serialization.safe_globals, torch.onnx.export(dynamo='
        'False)); found torch 2.4.1+cpu: pip install "torch>=2.5"')
