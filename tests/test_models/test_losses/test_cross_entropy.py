"""The losses give mmpretrain's numbers for every mmpretrain option they
accept, and reject the ones they do not implement."""
import pytest
import torch

from mbv3.models.losses import CrossEntropyLoss, LabelSmoothLoss

mmpretrain_losses = pytest.importorskip('mmpretrain.models.losses')

CLASS_WEIGHT = [0.5, 1.0, 2.0, 1.5, 0.2]


@pytest.fixture(scope='module')
def scores():
    g = torch.Generator().manual_seed(0)
    return torch.randn(6, 5, generator=g), torch.tensor([0, 4, 2, 2, 1, 3])


@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
@pytest.mark.parametrize('class_weight', [None, CLASS_WEIGHT])
def test_cross_entropy_equals_mmpretrain(scores, reduction, class_weight):
    logits, labels = scores
    options = dict(reduction=reduction, class_weight=class_weight,
                   loss_weight=0.7)
    ours = CrossEntropyLoss(**options)(logits, labels)
    theirs = mmpretrain_losses.CrossEntropyLoss(**options)(logits, labels)
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('mode', ['original', 'classy_vision'])
@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
@pytest.mark.parametrize('class_weight', [None, CLASS_WEIGHT])
def test_label_smooth_equals_mmpretrain(scores, mode, reduction,
                                        class_weight):
    logits, labels = scores
    options = dict(label_smooth_val=0.1, num_classes=5, mode=mode,
                   reduction=reduction, class_weight=class_weight,
                   loss_weight=1.3)
    ours = LabelSmoothLoss(**options)(logits, labels)
    theirs = mmpretrain_losses.LabelSmoothLoss(**options)(logits, labels)
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-6)


def test_mean_leaves_ignored_pixels_out():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 3, 4, 5, generator=g)
    target = torch.randint(0, 3, (2, 4, 5), generator=g)
    target[0, 0] = 255
    loss = CrossEntropyLoss(ignore_index=255, class_weight=[1, 2, 3])(
        logits, target)
    # by hand: -w_y log softmax_y, averaged over the 35 labelled pixels
    logp = logits.log_softmax(1)
    keep = target != 255
    picked = logp.permute(0, 2, 3, 1)[keep].gather(
        1, target[keep][:, None])[:, 0]
    weights = torch.tensor([1., 2., 3.])[target[keep]]
    assert int(keep.sum()) == 35
    torch.testing.assert_close(loss, -(weights * picked).sum() / 35)


def test_options_not_implemented_are_rejected(scores):
    with pytest.raises(ValueError, match='use_sigmoid must be False or '
                       'None.*got use_sigmoid=True'):
        CrossEntropyLoss(use_sigmoid=True)
    with pytest.raises(ValueError, match="mode must be 'original' or "
                       "'classy_vision', got 'multi_label'"):
        LabelSmoothLoss(0.1, mode='multi_label')
    with pytest.raises(ValueError, match="reduction must be one of"):
        CrossEntropyLoss(reduction='avg')
    with pytest.raises(TypeError, match='pos_weight'):
        CrossEntropyLoss(pos_weight=[1.0])
    with pytest.raises(ValueError, match='num_classes is 4, but the scores '
                       'have 5 classes'):
        LabelSmoothLoss(0.1, num_classes=4)(*scores)
    with pytest.raises(ValueError, match='class_weight has 2 entries, the '
                       'scores 5 classes'):
        CrossEntropyLoss(class_weight=[1, 2])(*scores)
