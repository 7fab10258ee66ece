"""Top-k accuracy against values worked out by hand and against an
independent count (rank of the true class), not against itself."""
import numpy as np
import pytest
import torch

from mbv3.evaluation.metrics import Accuracy


def test_topk_by_hand():
    scores = torch.tensor([
        [0.10, 0.50, 0.20, 0.15, 0.05],  # ranks: 1, 2, 3, 0, 4
        [0.30, 0.05, 0.25, 0.20, 0.20],  # ranks: 0, 2, 3|4, 1
        [0.05, 0.10, 0.15, 0.30, 0.40],  # ranks: 4, 3, 2, 1, 0
        [0.60, 0.10, 0.10, 0.15, 0.05],  # ranks: 0, 3, 1|2, 4
    ])
    labels = torch.tensor([1, 2, 0, 4])
    # the true class ranks 1st, 2nd, 5th and 5th: top-1 hits sample 0,
    # top-2 adds sample 1, top-3 and top-4 add nothing, top-5 hits all
    assert Accuracy.calculate(scores, labels, (1, 2, 3, 4, 5)) == {
        'top1': 25.0, 'top2': 50.0, 'top3': 50.0, 'top4': 50.0,
        'top5': 100.0}
    # k beyond the class count counts every sample (as mmpretrain does)
    assert Accuracy.calculate(scores, labels, (7, ))['top7'] == 100.0


def rank_of_true_class(scores: np.ndarray, labels: np.ndarray):
    """How many classes score strictly higher than the true one."""
    true = scores[np.arange(len(labels)), labels]
    return (scores > true[:, None]).sum(axis=1)


@pytest.mark.parametrize('num_classes', [3, 10, 37])
def test_topk_equals_an_independent_count(num_classes):
    rng = np.random.default_rng(num_classes)
    scores = rng.random((200, num_classes)).astype(np.float32)
    labels = rng.integers(0, num_classes, 200)
    ranks = rank_of_true_class(scores, labels)
    topk = tuple(range(1, num_classes + 1))
    got = Accuracy.calculate(torch.from_numpy(scores),
                             torch.from_numpy(labels), topk)
    for k in topk:
        assert got[f'top{k}'] == pytest.approx(100 * np.mean(ranks < k)), k


def test_metric_over_batches_logs_top1_and_top5():
    rng = np.random.default_rng(0)
    scores = rng.random((30, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 30)
    metric = Accuracy(topk=(1, 5))
    for start in range(0, 30, 8):  # batches of 8, 8, 8 and 6
        metric.process(None, [
            dict(pred_score=torch.from_numpy(s),
                 gt_label=torch.tensor([int(t)]))
            for s, t in zip(scores[start:start + 8],
                            labels[start:start + 8])])
    ranks = rank_of_true_class(scores, labels)
    assert metric.evaluate(30) == {
        'accuracy/top1': pytest.approx(100 * np.mean(ranks < 1)),
        'accuracy/top5': pytest.approx(100 * np.mean(ranks < 5))}
