import pickle

import pytest
import torch
from mmengine.dataset import pseudo_collate

from mbv3.datasets import collate_batch
from mbv3.structures import DataSample


def packed(label, size=(3, 8, 6), fill=0):
    sample = DataSample(metainfo=dict(img_path=f'{label}.png'))
    if label is not None:
        sample.set_gt_label(label)
    return dict(inputs=torch.full(size, fill, dtype=torch.uint8),
                data_samples=sample)


def test_batch_of_images_and_labels():
    batch = collate_batch([packed(3, fill=1), packed(7, fill=2)])
    assert batch['inputs'].shape == (2, 3, 8, 6)
    assert batch['inputs'].dtype == torch.uint8
    assert batch['inputs'][:, 0, 0, 0].tolist() == [1, 2]
    assert batch['data_samples'].tolist() == [3, 7]
    assert batch['data_samples'].dtype == torch.int64


def test_unlabelled_items_give_no_labels():
    assert collate_batch([packed(None), packed(None)])['data_samples'] is None


def test_mixed_labels_are_refused():
    with pytest.raises(ValueError, match='1 of 2 items without gt_label'):
        collate_batch([packed(1), packed(None)])


def test_empty_batch_is_refused():
    with pytest.raises(ValueError, match='empty batch'):
        collate_batch([])


def test_different_sizes_stay_a_list():
    batch = collate_batch([packed(0, (3, 8, 6)), packed(1, (3, 5, 6))])
    assert [tuple(t.shape) for t in batch['inputs']] == [(3, 8, 6),
                                                          (3, 5, 6)]
    assert batch['data_samples'].tolist() == [0, 1]


def test_pickles_smaller_than_pseudo_collate():
    """What a loader worker sends the main process: two tensors, not 64
    data samples with their meta."""
    items = [packed(i % 10, (3, 32, 32)) for i in range(64)]
    ours = len(pickle.dumps(collate_batch(items)))
    theirs = len(pickle.dumps(pseudo_collate(items)))
    assert ours < 64 * 3 * 32 * 32 + 4096 < theirs
