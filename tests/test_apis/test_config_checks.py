"""build_train_config warns about top-level keys that look misspelt."""
import warnings

import pytest

from mbv3.cli.train import build_config as build_train_config
from mbv3.cli.train import parse_args as parse_train_args
from tests.conftest import DIGITS_CONFIG


def test_misspelt_key_warns_naming_it(tmp_path):
    config = tmp_path / 'typo.py'
    config.write_text(f'_base_ = [{DIGITS_CONFIG!r}]\n'
                      'randomnes = dict(seed=1)\noptim_wraper = dict()\n')
    with pytest.warns(UserWarning) as record:
        build_train_config(parse_train_args([str(config)]))
    messages = sorted(str(w.message) for w in record
                      if 'config key' in str(w.message))
    assert messages == [
        "config key 'optim_wraper' is not read by the Runner and is "
        "ignored; did you mean 'optim_wrapper'?",
        "config key 'randomnes' is not read by the Runner and is ignored; "
        "did you mean 'randomness'?"]


def test_helper_variables_do_not_warn():
    # data_root, input_size, max_epochs, train_pipeline... are plain
    # helper variables of the digits config.
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        build_train_config(parse_train_args([DIGITS_CONFIG]))
    assert not [w for w in record if 'config key' in str(w.message)]
