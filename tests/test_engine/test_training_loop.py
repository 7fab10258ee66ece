"""The training loop of the digits recipe, a few iterations on CPU: no
host-device sync from mbv3's code, and ``compile=True`` trains."""
import traceback

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner
from torch.utils._python_dispatch import TorchDispatchMode

from mbv3.apis.train import build_train_config
from tests.conftest import DIGITS_CONFIG, data_root_options


def digits_runner(root, work_dir, **options):
    """The digits recipe on ``root`` (the 140-image subset: 3 iterations
    an epoch), one epoch, no validation and no end-of-run reports."""
    cfg_options = dict(opt.split('=', 1) for opt in data_root_options(root))
    cfg_options.update({'train_cfg.max_epochs': 1, **options})
    cfg = build_train_config(DIGITS_CONFIG, work_dir=str(work_dir),
                             cfg_options=cfg_options)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.custom_hooks = [h for h in cfg.custom_hooks
                        if h.type == 'PreciseBNHook']
    return Runner.from_cfg(cfg)


def caller(stack) -> str:
    """``file:line`` of the innermost frame outside torch and this file."""
    for frame in reversed(stack):
        if '/torch/' not in frame.filename and frame.filename != __file__:
            return f'{frame.filename}:{frame.lineno}'
    return '?'


class ScalarReads(TorchDispatchMode):
    """Where each read of a tensor's value by the host happens: every
    ``Tensor.item``, ``bool``, ``int`` and ``float`` of a tensor reaches
    ``aten._local_scalar_dense``; ``tolist`` is counted apart."""

    def __init__(self):
        super().__init__()
        self.callers = []
        self.active = False

    def __enter__(self):
        self.active = True
        return super().__enter__()

    def __exit__(self, *exc):
        self.active = False
        return super().__exit__(*exc)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            self.callers.append(caller(traceback.extract_stack()))
        return func(*args, **(kwargs or {}))


class CountInsideIterations(Hook):
    """Runs ``mode`` from the first ``before_train_iter`` hook (registered
    first) to the end of the last ``after_train_iter`` one (:class:`_Exit`,
    registered last): the iteration without its data loading."""

    def __init__(self, mode):
        self.mode = mode
        self.iterations = 0

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.mode.__enter__()

    def leave(self):
        self.mode.__exit__(None, None, None)
        self.iterations += 1


def test_training_iterations_read_no_tensor_from_mbv3_code(
        digits_subset, tmp_path, monkeypatch, one_thread):
    reads = ScalarReads()
    tolist = torch.Tensor.tolist

    def counted_tolist(self):
        if reads.active:
            reads.callers.append(caller(traceback.extract_stack()))
        return tolist(self)

    monkeypatch.setattr(torch.Tensor, 'tolist', counted_tolist)
    runner = digits_runner(digits_subset[0], tmp_path)
    start = CountInsideIterations(reads)
    runner.register_hook(start, priority='HIGHEST')
    runner.register_hook(_Exit(start), priority='LOWEST')
    runner.train()
    assert start.iterations == 3
    # mmengine's own hooks read the loss for logging; mbv3's code does not
    ours = [c for c in reads.callers if '/mbv3/' in c]
    assert ours == []
    assert reads.callers, 'the counter saw none of mmengine\'s reads either'


class _Exit(Hook):
    """The ``after_train_iter`` half of :class:`CountInsideIterations`, run
    after every other hook."""

    def __init__(self, counter):
        self.counter = counter

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.counter.leave()


def test_loss_and_head_trace_without_graph_breaks():
    """The loss divides by a tensor count (``int(kept)`` made 3 graph
    breaks and a host sync per step)."""
    from mbv3.models.heads.stacked_head import StackedLinearClsHead
    from mbv3.models.losses.cross_entropy import CrossEntropyLoss
    from mbv3.structures import DataSample
    torch.manual_seed(0)
    logits, labels = torch.randn(4, 5), torch.tensor([0, 3, 1, 2])
    loss = CrossEntropyLoss(ignore_index=3)
    explained = torch._dynamo.explain(loss)(logits, labels)
    assert explained.graph_break_count == 0, explained.break_reasons
    # the mean over the 3 targets that are not ignored
    expected = torch.nn.functional.cross_entropy(logits[[0, 2, 3]],
                                                 labels[[0, 2, 3]])
    torch.testing.assert_close(loss(logits, labels), expected)
    head = StackedLinearClsHead(10, 16, [32], dropout_rate=0.2)
    samples = [DataSample().set_gt_label(i) for i in range(4)]
    explained = torch._dynamo.explain(head.loss)((torch.randn(4, 16), ),
                                                 samples)
    assert explained.graph_break_count == 0, explained.break_reasons


class LossRecorder(Hook):

    def __init__(self):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append(float(outputs['loss'].detach()))


@pytest.mark.slow
def test_compile_true_trains_the_digits_recipe(digits_subset, tmp_path,
                                               one_thread):
    """mmengine's ``compile=True`` option (here with the ``eager`` backend:
    dynamo's capture without code generation) trains; it crashed in
    ``AdamW.step`` over mmengine's ``ConfigDict`` parameter groups."""
    from torch._dynamo.utils import counters
    torch._dynamo.reset()
    counters.clear()
    # the 143 images in batches of 72 and 71: no recompilation for a
    # small last batch
    runner = digits_runner(digits_subset[0], tmp_path,
                           compile=dict(backend='eager'),
                           **{'train_dataloader.batch_size': 72})
    recorder = LossRecorder()
    runner.register_hook(recorder)
    runner.train()
    assert runner.iter == 2
    assert counters['stats']['unique_graphs'] >= 1  # the step was captured
    assert len(recorder.losses) == 2
    assert all(0 < loss < 10 for loss in recorder.losses)  # ln(10) at start
