"""A config's ``data_preparation`` is looked up in the DATA_PREPARERS
registry, so a user's own preparer is one registration away."""
import pytest
from mmengine.config import Config

from mbv3.datasets import prepare_digits
from mbv3.datasets.preparation import prepare_data
from mbv3.registry import DATA_PREPARERS


def test_registered_preparers_are_found_by_type(tmp_path):
    assert DATA_PREPARERS.get('digits') is prepare_digits
    calls = []

    @DATA_PREPARERS.register_module('test_only_recorder')
    def record(root, size):
        calls.append((root, size))

    try:
        prepare_data(Config(dict(
            data_preparation=dict(type='test_only_recorder',
                                  root=str(tmp_path), size=3),
            train_dataloader=dict(dataset=dict(data_root=str(tmp_path))))))
    finally:
        DATA_PREPARERS.module_dict.pop('test_only_recorder')
    assert calls == [(str(tmp_path), 3)]


def test_an_unknown_type_names_the_registered_ones(tmp_path):
    with pytest.raises(ValueError, match=r"data_preparation type must be one "
                       r"of \['digits', 'skimage_seg', 'textures'\], "
                       r"got 'imagenet'"):
        prepare_data(Config(dict(
            data_preparation=dict(type='imagenet', root=str(tmp_path)),
            val_dataloader=dict(dataset=dict(data_root=str(tmp_path))))))
