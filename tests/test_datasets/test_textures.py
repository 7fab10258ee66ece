import numpy as np
import pytest
from skimage import data

from mbv3.datasets.textures import (TEXTURE_CLASSES, prepare_textures,
                                    texture_crops)


def test_crops_come_from_disjoint_halves():
    splits = texture_crops(size=64, stride=32)
    # per 512x256 half: (512 - 64) / 32 + 1 = 15 rows, (256 - 64) / 32 + 1
    # = 7 columns; 3 photos
    assert [len(splits[s]) for s in ('train', 'val')] == [315, 315]
    labels = [label for _, label in splits['train']]
    assert [labels.count(i) for i in range(3)] == [105, 105, 105]
    brick = data.brick()
    first_train, first_val = splits['train'][0][0], splits['val'][0][0]
    assert np.array_equal(first_train, brick[:64, :64])
    assert np.array_equal(first_val, brick[:64, 256:320])
    # the last val crop of gravel ends at the photo's right edge
    assert np.array_equal(splits['val'][-1][0], data.gravel()[-64:, -64:])


def test_prepare_writes_folders_once(tmp_path):
    info = prepare_textures(str(tmp_path), size=128, stride=128)
    # 4 rows x 2 columns per half and photo
    assert info == dict(size=128, stride=128, train=24, val=24)
    for split in ('train', 'val'):
        for name in TEXTURE_CLASSES:
            assert len(list((tmp_path / split / name).glob('*.png'))) == 8
    assert prepare_textures(str(tmp_path), size=128, stride=128) == info
    with pytest.raises(ValueError, match="already holds texture crops "
                       "written with {'size': 128, 'stride': 128}"):
        prepare_textures(str(tmp_path), size=64)


def test_prepare_refuses_a_folder_of_other_files(tmp_path):
    # e.g. the README's own-data textures in the same folder: writing the
    # crops there would mix two splits
    own = tmp_path / 'train' / 'brick'
    own.mkdir(parents=True)
    (own / 'mine.png').write_bytes(b'')
    with pytest.raises(ValueError, match="already holds files but no "
                       r"mbv3_textures\.json.*choose another folder, or "
                       'empty this one'):
        prepare_textures(str(tmp_path), size=128, stride=128)
    assert [p.name for p in own.iterdir()] == ['mine.png']


@pytest.mark.parametrize('kwargs, message', [
    (dict(size=4), 'size must be in \\[8, 256\\], got 4'),
    (dict(stride=0), 'stride must be >= 1, got 0')])
def test_bad_crop_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        texture_crops(**kwargs)
