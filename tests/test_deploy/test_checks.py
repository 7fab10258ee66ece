"""The helper behind every "export equals eager" test compares the eager
model with the runner it is given, on the input it is given."""
import numpy as np
import pytest
import torch
from torch import nn

from mbv3.deploy.checks import compare_outputs


def max_abs_diff(model, runner, x):
    return compare_outputs(model, runner, [x])['max_abs_diff']


class TwoOutputs(nn.Module):
    """A backbone-like model: a tuple of two outputs, and a BN layer whose
    train-mode output differs from its eval-mode output."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(3)
        self.bn.running_mean.fill_(1.0)

    def forward(self, x):
        return self.bn(x), x * 100


def test_max_abs_diff_measures_the_runner_against_eager():
    model = TwoOutputs()
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    # eval mode: (x - running_mean 1) / sqrt(running_var 1 + eps 1e-5)
    eager = ((x - 1) / np.sqrt(1 + 1e-5)).numpy()
    offset = np.array([[0.0, -0.25, 0.0], [0.125, 0.0, 0.0]], np.float32)
    seen = []

    def runner(inputs):
        seen.append(inputs)
        return eager + offset

    assert max_abs_diff(model, runner, x) == pytest.approx(0.25, abs=1e-6)
    assert len(seen) == 1 and torch.equal(seen[0], x)
    assert not model.training
    assert max_abs_diff(model, lambda inputs: eager, x) == \
        pytest.approx(0.0, abs=1e-6)
    # the first output of a tuple: the second (x * 100) is not compared
    assert max_abs_diff(model, lambda inputs: eager - 3.0, x) == \
        pytest.approx(3.0, abs=1e-6)
