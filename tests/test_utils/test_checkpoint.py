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


def test_mmengine_runtime_state_loads_weights_only(tmp_path,
                                                   mmengine_fixes):
    # What an mmengine checkpoint written by mbv3's commands holds besides
    # tensors: a message hub with HistoryBuffers (numpy arrays) and numpy
    # scalars.
    import numpy as np
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('mbv3_test_hub')
    hub.update_scalar('train/loss', 1.5)
    hub.update_info('eta', np.float64(3.0))
    path = tmp_path / 'ckpt.pth'
    torch.save({'message_hub': hub.state_dict()}, path)
    loaded = load_checkpoint_file(os.fspath(path))
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 1.5


def _damaged(tmp_path, name, how):
    source = tmp_path / 'source.bin'
    torch.save({'state_dict': {'w': torch.arange(1000.)}}, source)
    data = source.read_bytes()
    source.unlink()
    damaged = {'empty': b'', 'truncated': data[:len(data) // 2],
               'text': b'not a checkpoint at all\n',
               'bitflip': None}[how]
    if damaged is None:  # flip a byte inside the tensor data
        damaged = bytearray(data)
        at = data.index(b'data/0') + 200
        damaged[at] ^= 0xFF
        damaged = bytes(damaged)
    path = tmp_path / name
    path.write_bytes(damaged)
    return path


@pytest.mark.parametrize('how,reason', [
    pytest.param(how, reason, marks=pytest.mark.reliability(
        kind='damaged checkpoint', case=f'{how}: one line naming the file'))
    for how, reason in (
        ('empty', r'is empty \(0 bytes\)'),
        ('truncated', 'truncated or not a PyTorch checkpoint'),
        ('text', 'truncated or not a PyTorch checkpoint'),
        ('bitflip', 'fails its CRC-32 check'))])
def test_damaged_checkpoint_gives_one_line_naming_the_file(tmp_path, how,
                                                          reason):
    from mbv3.utils.checkpoint import CorruptCheckpointError
    path = _damaged(tmp_path, f'{how}.pth', how)
    with pytest.raises(CorruptCheckpointError, match=reason) as err:
        load_checkpoint_file(path)
    assert str(path) in str(err.value) and '\n' not in str(err.value)


@pytest.mark.reliability(kind='damaged checkpoint', case='through load_from '
                         'and init_cfg: one line naming the file')
def test_damaged_checkpoint_through_load_from_and_init_cfg(
        tmp_path, mmengine_fixes):
    # load_from / resume and init_cfg=Pretrained all go through mmengine's
    # CheckpointLoader, which mbv3's commands point at load_checkpoint_file.
    from mmengine.runner import load_checkpoint

    from mbv3.models.backbones.mobilenet_v3 import MobileNetV3
    from mbv3.utils.checkpoint import CorruptCheckpointError
    path = str(_damaged(tmp_path, 'cut.pth', 'truncated'))
    with pytest.raises(CorruptCheckpointError, match='cut.pth'):
        load_checkpoint(torch.nn.Linear(1, 1), path)
    model = MobileNetV3('small_minimal', init_cfg=dict(type='Pretrained',
                                                       checkpoint=path))
    with pytest.raises(CorruptCheckpointError, match='cut.pth'):
        model.init_weights()


def test_safetensors_damage_is_named(tmp_path):
    from mbv3.utils.checkpoint import CorruptCheckpointError
    path = tmp_path / 'w.safetensors'
    path.write_bytes(b'\x10\x00\x00\x00\x00\x00\x00\x00{"a":')
    with pytest.raises(CorruptCheckpointError, match='w.safetensors'):
        load_checkpoint_file(path)


@pytest.mark.reliability(kind='full disk', case='checkpoint write: the old '
                         'file kept, no temporary file left')
def test_atomic_write_keeps_the_old_file_when_the_write_fails(
        tmp_path, monkeypatch):
    from mbv3.utils.checkpoint import atomic_write
    path = tmp_path / 'latest.pth'
    atomic_write(b'old', path)

    def disk_full(fd):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', disk_full)
    with pytest.raises(OSError, match='no space left on /'):
        atomic_write(b'new but cut off', path)
    assert path.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['latest.pth']  # no temporary file left


def test_mmengine_local_writes_are_atomic(tmp_path, mmengine_fixes):
    from mmengine.fileio import get_file_backend
    from mmengine.runner.checkpoint import save_checkpoint

    from mbv3.utils.checkpoint import AtomicLocalBackend
    path = str(tmp_path / 'epoch_1.pth')
    assert isinstance(get_file_backend(path), AtomicLocalBackend)
    save_checkpoint({'state_dict': {'w': torch.ones(2)}}, path)
    assert load_checkpoint_file(path)['state_dict']['w'].tolist() == [1, 1]
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.reliability(kind='damaged checkpoint', case='latest one '
                         'damaged: --resume falls back to the newest intact')
def test_auto_resume_falls_back_to_newest_intact_and_says_so(
        tmp_path, monkeypatch):
    from mbv3.apis import train as train_api
    good = tmp_path / 'epoch_1.pth'
    torch.save({'meta': {}}, good)
    bad = _damaged(tmp_path, 'epoch_2.pth', 'truncated')
    os.utime(good, (1, 1))
    (tmp_path / 'last_checkpoint').write_text(str(bad))
    said = []
    monkeypatch.setattr(train_api, 'print_log',
                        lambda msg, **kw: said.append(msg))
    assert train_api.resolve_resume('auto', str(tmp_path)) == str(good)
    assert len(said) == 1 and 'epoch_2.pth' in said[0] and \
        f'resuming from the newest intact checkpoint {str(good)!r}' in said[0]
    good.write_bytes(b'')
    with pytest.raises(FileNotFoundError, match='no checkpoint to resume.*skipped: '
                       '.*epoch_2.pth.*skipped: .*epoch_1.pth.*empty'):
        train_api.resolve_resume('auto', str(tmp_path))


def test_resume_from_a_damaged_path_fails_before_training(tmp_path):
    from mbv3.apis.train import resolve_resume
    from mbv3.utils.checkpoint import CorruptCheckpointError
    bad = _damaged(tmp_path, 'epoch_3.pth', 'empty')
    with pytest.raises(CorruptCheckpointError, match='epoch_3.pth'):
        resolve_resume(str(bad), str(tmp_path))


def _intact(path, mtime):
    torch.save({'meta': {}}, path)
    os.utime(path, (mtime, mtime))
    return str(path)


def test_auto_resume_takes_the_newest_of_several_intact_checkpoints(
        tmp_path, monkeypatch):
    # README "Faults lose nothing": --resume skips a damaged latest
    # checkpoint and resumes from the newest intact one (not the oldest)
    from mbv3.apis import train as train_api
    oldest = _intact(tmp_path / 'epoch_1.pth', 100)
    _intact(tmp_path / 'epoch_2.pth', 200)
    newest = _intact(tmp_path / 'epoch_3.pth', 300)
    assert train_api.resolve_resume('auto', str(tmp_path)) == newest
    os.utime(oldest, (400, 400))  # order by time, not by name
    assert train_api.resolve_resume('auto', str(tmp_path)) == oldest
    os.utime(oldest, (100, 100))
    bad = _damaged(tmp_path, 'epoch_4.pth', 'truncated')
    (tmp_path / 'last_checkpoint').write_text('epoch_4.pth')
    said = []
    monkeypatch.setattr(train_api, 'print_log',
                        lambda msg, **kw: said.append(msg))
    assert train_api.resolve_resume('auto', str(tmp_path)) == newest
    assert len(said) == 1 and str(bad) in said[0]


def test_last_checkpoint_is_relative_to_the_work_dir_and_both_forms_read(
        tmp_path):
    from mbv3.utils.checkpoint import (read_last_checkpoint,
                                       write_last_checkpoint)
    work = tmp_path / 'work'
    work.mkdir()
    assert read_last_checkpoint(str(work)) is None
    write_last_checkpoint(str(work), str(work / 'epoch_2.pth'))
    assert (work / 'last_checkpoint').read_text() == 'epoch_2.pth'
    assert read_last_checkpoint(str(work)) == str(work / 'epoch_2.pth')
    # outside the work dir (CheckpointHook's out_dir): kept absolute
    elsewhere = str(tmp_path / 'out' / 'work' / 'epoch_2.pth')
    write_last_checkpoint(str(work), elsewhere)
    assert (work / 'last_checkpoint').read_text() == elsewhere
    assert read_last_checkpoint(str(work)) == elsewhere
    # mmengine's absolute form, in a work dir copied from another one that
    # holds the same file name: the copy's own file
    (work / 'last_checkpoint').write_text(
        str(tmp_path / 'original' / 'epoch_2.pth'))
    (work / 'epoch_2.pth').write_bytes(b'')
    assert read_last_checkpoint(str(work)) == str(work / 'epoch_2.pth')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_2.pth'))
    assert read_last_checkpoint(str(work)) == str(work / 'epoch_2.pth')


@pytest.mark.reliability(kind='hostile weights file',
                         case='HistoryBuffer statistics_methods')
def test_history_buffer_in_a_checkpoint_cannot_change_every_buffer(
        tmp_path, monkeypatch, mmengine_fixes):
    # A checkpoint of allowed types only: a HistoryBuffer whose pickled
    # state carries statistics_methods. mmengine's __setstate__ merges them
    # into the dict all buffers share; read as data, they go nowhere.
    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import CheckpointLoader
    shared = dict(HistoryBuffer._statistics_methods)
    monkeypatch.setattr(HistoryBuffer, '_statistics_methods', shared)
    buffer = HistoryBuffer([1.0, 3.0], [1, 1], max_length=7)

    def hostile_state(self):
        return dict(self.__dict__, statistics_methods={
            'mean': 'replaced', 'extra': HistoryBuffer})

    with monkeypatch.context() as patch:
        patch.setattr(HistoryBuffer, '__getstate__', hostile_state)
        path = tmp_path / 'resume_me.pth'
        torch.save({'message_hub': {'log_scalars': {'loss': buffer}}}, path)
    for load in (load_checkpoint_file,  # --resume reads through mmengine:
                 lambda p: CheckpointLoader.load_checkpoint(str(p))):
        loaded = load(path)['message_hub']['log_scalars']['loss']
        assert type(loaded) is HistoryBuffer
        assert loaded.data[0].tolist() == [1.0, 3.0]
        assert loaded.max_length == 7
        assert shared['mean'] is HistoryBuffer.mean and 'extra' not in shared
        assert HistoryBuffer([2.0, 4.0], [1, 1]).statistics('mean') == 3.0
        assert loaded.statistics('mean') == 2.0


def test_history_buffer_with_other_fields_is_refused(tmp_path, monkeypatch):
    from mmengine.logging import HistoryBuffer

    from mbv3.utils.checkpoint import CorruptCheckpointError
    buffer = HistoryBuffer([1.0], [1])
    buffer._log_history = 'not an array'
    path = tmp_path / 'odd.pth'
    with monkeypatch.context() as patch:
        patch.setattr(HistoryBuffer, '__getstate__',
                      lambda self: dict(self.__dict__))
        torch.save({'buffer': buffer}, path)
    with pytest.raises(CorruptCheckpointError, match='odd.pth.*HistoryBuffer'):
        load_checkpoint_file(path)
