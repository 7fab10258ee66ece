import os

import pytest
import torch

from mbv3.utils.checkpoint import UnsafeCheckpointError, load_checkpoint_file


class _Payload:
    """Unpickling this runs code: it creates a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_pickle_with_code_is_refused_and_not_run(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': _Payload(str(marker))}, path)
    with pytest.raises(UnsafeCheckpointError,
                       match='MBV3_TRUSTED_CHECKPOINTS') as err:
        load_checkpoint_file(path)
    assert str(path) in str(err.value)
    assert not marker.exists()


def test_trusted_file_can_be_opted_in(tmp_path, monkeypatch):
    path = tmp_path / 'mine.pth'
    torch.save({'obj': _Payload(str(tmp_path / 'ran'))}, path)
    monkeypatch.setenv('MBV3_TRUSTED_CHECKPOINTS', str(path))
    load_checkpoint_file(path)
    assert (tmp_path / 'ran').exists()


def test_plain_state_dict_and_missing_file(tmp_path):
    path = tmp_path / 'plain.pth'
    torch.save({'w': torch.arange(3)}, path)
    assert load_checkpoint_file(path)['w'].tolist() == [0, 1, 2]
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_checkpoint_file(tmp_path / 'missing.pth')


def test_mmengine_runtime_state_loads_weights_only(tmp_path):
    # What an mmengine checkpoint holds besides tensors: a message hub with
    # HistoryBuffers (numpy arrays) and numpy scalars.
    import numpy as np
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('mbv3_test_hub')
    hub.update_scalar('train/loss', 1.5)
    hub.update_info('eta', np.float64(3.0))
    path = tmp_path / 'ckpt.pth'
    torch.save({'message_hub': hub.state_dict()}, path)
    loaded = load_checkpoint_file(os.fspath(path))
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 1.5
