"""mbv3's eager classifier runs the same aten work as torchvision's
``mobilenet_v3_large``: op counts, not timings (eager speed is a benchmark:
``tools/analysis_tools/benchmark.py``)."""
import collections

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from tests.test_models.test_classifiers.test_image_classifier import \
    build_classifier

class _AtenOps(TorchDispatchMode):
    """Counts each aten op the forward dispatches."""

    def __init__(self):
        super().__init__()
        self.counts = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def _aten_ops(model, x):
    with torch.inference_mode(), _AtenOps() as ops:
        model(x)
    return ops.counts


@pytest.fixture(scope='module')
def models():
    torchvision = pytest.importorskip('torchvision')
    torch.manual_seed(0)
    return (build_classifier('large').eval(),
            torchvision.models.mobilenet_v3_large().eval(),
            torch.randn(1, 3, 64, 64))


def test_same_aten_work_as_torchvision(models):
    ours, tv, x = models
    mine, theirs = _aten_ops(ours, x), _aten_ops(tv, x)
    for op in ('conv2d', 'batch_norm', 'linear', 'hardswish_',
               'hardsigmoid', 'mul', 'add_'):
        assert mine[op] == theirs[op], op
    # 62 convs: stem 1, bnecks 2 + 14 * 3, SE 8 * 2, last 1; the 10
    # residual adds in place, as torchvision's.
    assert (mine['conv2d'], mine['add_']) == (62, 10)
    assert sum(mine.values()) <= sum(theirs.values())

