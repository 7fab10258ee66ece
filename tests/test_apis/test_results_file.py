"""``infer.py --out`` is written atomically: a full disk leaves the earlier
results file whole and says "no space left on <mount point>" (issue 23)."""
import errno
import os

import pytest
from mmengine.config import Config

from mbv3.cli.infer import main as infer
from mbv3.datasets.data_root import resolve_num_classes
from tests.conftest import DIGITS_CONFIG, initial_checkpoint, \
    write_image_folder


def mount_point(path: str) -> str:
    path = os.path.realpath(path)
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


@pytest.mark.parametrize('ext', [
    pytest.param(ext, marks=pytest.mark.reliability(
        kind='full disk', case=f'infer.py --out {ext}: the earlier file '
        'kept, "no space left on ..."')) for ext in ('.json', '.csv')])
def test_full_disk_keeps_the_earlier_results(tmp_path, monkeypatch, ext):
    cfg = Config.fromfile(DIGITS_CONFIG)
    resolve_num_classes(cfg, ('brick', 'grass'))
    checkpoint = initial_checkpoint(cfg, tmp_path / 'epoch_1.pth',
                                    ('brick', 'grass'))
    images = write_image_folder(tmp_path / 'tex', ('val', ), per_class=1)
    out = str(tmp_path / 'out' / f'results{ext}')
    infer([DIGITS_CONFIG, checkpoint, images, '--out', out])
    with open(out, 'rb') as f:
        earlier = f.read()

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    # the kernel reports a full disk at write, or, with delayed
    # allocation, at fsync
    monkeypatch.setattr(os, 'fsync', disk_full)
    with pytest.raises(OSError) as err:
        infer([DIGITS_CONFIG, checkpoint, images, '--out', out,
               '--topk', '1'])
    assert err.value.errno == errno.ENOSPC
    assert str(err.value) == (
        f'[Errno 28] no space left on {mount_point(out)} while writing '
        f'{out!r}; {out!r} was left as it was')
    with open(out, 'rb') as f:
        assert f.read() == earlier
    assert os.listdir(os.path.dirname(out)) == [f'results{ext}']
