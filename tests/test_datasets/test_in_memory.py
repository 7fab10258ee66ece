"""CustomDataset(in_memory=True): each image decoded once, augmented per
access."""
import random

import numpy as np
import pytest
from PIL import Image

from mbv3.datasets import CustomDataset

PIPELINE = [dict(type='LoadImageFromFile', channel_order='rgb'),
            dict(type='RandomResizedCrop', scale=6,
                 crop_ratio_range=(0.3, 1.0)),
            dict(type='PackInputs')]


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for label in ('a', 'b'):
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (10, 12, 3), np.uint8)).save(
                tmp_path / label / f'{i}.png')
    return tmp_path


def test_decoded_once_and_augmented_per_access(folder, monkeypatch):
    reads = []
    monkeypatch.setattr('mbv3.datasets.transforms.loading.decode_image',
                        _counting(reads))
    dataset = CustomDataset(data_root=str(folder), pipeline=PIPELINE,
                            in_memory=True)
    assert len(reads) == 6
    for path in folder.glob('*/*.png'):
        path.unlink()  # nothing is read from disk any more
    random.seed(0)
    first = [dataset[i]['inputs'] for i in range(6)]
    second = [dataset[i]['inputs'] for i in range(6)]
    assert len(reads) == 6
    assert first[0].shape == (3, 6, 6)
    assert any((a != b).any() for a, b in zip(first, second))
    assert [int(dataset[i]['data_samples'].gt_label) for i in range(6)] == \
        [0, 0, 0, 1, 1, 1]


def test_same_samples_as_reading_per_access(folder):
    ours = CustomDataset(data_root=str(folder), pipeline=PIPELINE,
                         in_memory=True)
    theirs = CustomDataset(data_root=str(folder), pipeline=PIPELINE)
    for i in range(6):
        random.seed(i)
        a = ours[i]
        random.seed(i)
        b = theirs[i]
        assert np.array_equal(a['inputs'], b['inputs'])
        assert a['data_samples'].img_path == b['data_samples'].img_path


def test_unreadable_file_is_skipped_per_access(folder):
    bad = folder / 'a' / 'bad.png'
    bad.write_bytes(b'')
    pipeline = [dict(PIPELINE[0], skip_bad_files=True)] + PIPELINE[1:]
    dataset = CustomDataset(data_root=str(folder), pipeline=pipeline,
                            in_memory=True, report_bad_files=True,
                            test_mode=True)
    index = [dataset.get_data_info(i)['img_path']
             for i in range(len(dataset))].index(str(bad))
    marker = dataset[index]
    assert marker['skipped_file'] == str(bad)
    assert 'empty (0 bytes)' in marker['error']
    assert dataset.skipped_files() == {str(bad): 1}


def test_needs_loading_first(folder):
    with pytest.raises(ValueError, match='must be LoadImageFromFile; got '
                       'PackInputs'):
        CustomDataset(data_root=str(folder), in_memory=True,
                      pipeline=[dict(type='PackInputs')])


def _counting(reads):
    from mbv3.datasets.transforms.loading import decode_image

    def decode(data, filename):
        reads.append(filename)
        return decode_image(data, filename)
    return decode
