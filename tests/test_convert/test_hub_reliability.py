"""Published weights under attack and faults: forged files that match a
32-bit hash prefix, servers that never stop sending, processes fetching
the same name at once, a damaged cache and a full disk. The server is the
local one of ``test_hub``; nothing leaves 127.0.0.1."""
import errno
import hashlib
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mbv3.cli.weights import main as weights_main
from mbv3.convert import convert_checkpoint, hub, save_converted, weights
from mbv3.utils.checkpoint import CorruptCheckpointError
from tests.conftest import REPO
# the local server and cache of test_hub, as fixtures of this module too
from tests.test_convert.test_hub import (TV_SMALL, files,  # noqa: F401
                                         local_only, serve, server)


def _forge(data: bytes, prefix: str) -> bytes:
    """``data`` plus a suffix that makes its sha256 start with ``prefix``
    (a short one: 16 ** len(prefix) tries on average)."""
    base = hashlib.sha256(data)
    for i in range(1 << 24):
        digest = base.copy()
        digest.update(str(i).encode())
        if digest.hexdigest().startswith(prefix):
            return data + str(i).encode()
    raise AssertionError('no suffix found')


def _forget(entry):
    """Remove the converted and downloaded files of ``entry``, keeping
    what else the cache holds."""
    os.remove(hub.converted_path(entry))
    os.remove(hub.download_path(entry))


@pytest.mark.reliability(kind='weights download',
                         case='forged file matching the 32-bit prefix')
def test_later_downloads_must_match_the_first_full_sha256(
        server, files, monkeypatch):
    data, digest, _ = files['torchvision']
    # a 2-hex prefix stands for the published 8 hex digits: a file that
    # matches it is as easy to forge here as one matching 8 is in minutes
    entry, path = serve(server, files, monkeypatch, 'torchvision',
                        sha256=digest[:2])
    hub.fetch(TV_SMALL, progress=False)
    _forget(entry)
    forged = _forge(data, digest[:2])
    server.files[path] = forged
    with pytest.raises(hub.WeightsHashError) as err:
        hub.fetch(TV_SMALL, progress=False)
    message = str(err.value)
    assert hashlib.sha256(forged).hexdigest() in message
    assert digest in message and hub.pin_path(entry) in message
    assert hub.pinned_sha256(entry) == digest
    with open(hub.pin_path(entry), encoding='ascii') as f:
        assert f.read() == f'{digest}  {entry.filename}\n'
    assert not osp.exists(hub.download_path(entry))
    assert not osp.exists(hub.converted_path(entry))


@pytest.mark.reliability(kind='weights download',
                         case='list says how each name is pinned')
def test_list_says_how_each_name_is_pinned(server, files, monkeypatch,
                                           capsys):
    weights_main(['list'])
    table = capsys.readouterr().out
    full = [w for w in weights.WEIGHTS.values() if len(w.sha256) == 64]
    assert [w.name for w in full] == [
        'mobilenetv3_large_100.ra4_e3600_r224_in1k']
    assert f'| full sha256: `{full[0].sha256[:16]}...` |' in table
    assert table.count('| sha256 prefix + first download: not downloaded '
                       'yet |') == len(weights.WEIGHTS) - 1
    serve(server, files, monkeypatch, 'torchvision',
          sha256=files['torchvision'][1][:8])
    hub.fetch(TV_SMALL, progress=False)
    weights_main(['list'])
    row = next(line for line in capsys.readouterr().out.splitlines()
               if f'`{TV_SMALL}`' in line)
    assert row.endswith(f'| sha256 prefix + first download: '
                        f'`{files["torchvision"][1][:16]}...` |')


@pytest.mark.reliability(kind='weights download',
                         case='server sends no Content-Length')
def test_download_without_length_stops_at_the_limit(server, files,
                                                    monkeypatch):
    entry, path = serve(server, files, monkeypatch, 'torchvision')
    server.files[path] = files['torchvision'][0] + bytes(100 << 20)
    server.no_length.add(path)
    with pytest.raises(hub.WeightsDownloadError) as err:
        hub.fetch(TV_SMALL, progress=False)
    limit = hub.max_download_bytes(entry)
    assert limit < 100 << 20
    assert f'more than {limit} bytes' in str(err.value)
    assert 'no Content-Length' in str(err.value)
    folder = osp.dirname(hub.download_path(entry))
    assert os.listdir(folder) == []


@pytest.mark.reliability(kind='weights download',
                         case='Content-Length above the limit')
def test_announced_length_above_the_limit_is_refused(server, files,
                                                     monkeypatch):
    entry, path = serve(server, files, monkeypatch, 'torchvision')
    server.files[path] = bytes(100 << 20)
    with pytest.raises(hub.WeightsDownloadError) as err:
        hub.fetch(TV_SMALL, progress=False)
    limit = hub.max_download_bytes(entry)
    assert f'announces {100 << 20} bytes, more than the {limit}' in \
        str(err.value)
    assert os.listdir(osp.dirname(hub.download_path(entry))) == []
    assert server.count(path) == 1


def test_limit_is_above_the_published_file_sizes():
    import torchvision.models as tv
    published = {  # torchvision 0.29 meta['_file_size'], MiB
        'mobilenet_v3_large.tv_in1k':
            tv.MobileNet_V3_Large_Weights.IMAGENET1K_V1,
        'mobilenet_v3_large.tv_in1k_v2':
            tv.MobileNet_V3_Large_Weights.IMAGENET1K_V2,
        'mobilenet_v3_small.tv_in1k':
            tv.MobileNet_V3_Small_Weights.IMAGENET1K_V1}
    for name, enum in published.items():
        size = enum.meta['_file_size'] * (1 << 20)
        limit = hub.max_download_bytes(weights.WEIGHTS[name])
        assert size < limit < 3 * size + (16 << 20), name


_FETCH = '''
import os, sys, time
import mbv3.convert.weights as w
from mbv3.convert import hub
name, url, sha256, ready, count = sys.argv[1:]
w.WEIGHTS[name] = w.WEIGHTS[name]._replace(url=url, sha256=sha256)
open(f'{ready}.{os.getpid()}', 'w').close()
while len([f for f in os.listdir(os.path.dirname(ready))
           if f.startswith(os.path.basename(ready))]) < int(count):
    time.sleep(0.01)
print(hub.fetch(name, progress=False))
'''


@pytest.mark.slow
@pytest.mark.reliability(kind='concurrent processes',
                         case='three processes fetch one uncached name')
def test_processes_fetching_one_name_at_once_all_succeed(
        server, files, monkeypatch, tmp_path):
    entry, path = serve(server, files, monkeypatch, 'torchvision')
    server.delay = 0.01  # about 1.5 s per download: they overlap
    ready = tmp_path / 'ready' / 'go'
    ready.parent.mkdir()
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    procs = [subprocess.Popen(
        [sys.executable, '-c', _FETCH, TV_SMALL, entry.url, entry.sha256,
         str(ready), '3'], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], \
        [err[-2000:] for _, err in outs]
    out = hub.converted_path(entry)
    assert [o.strip().splitlines()[-1] for o, _ in outs] == [out] * 3
    # they overlapped: the late ones waited, then read the first's file
    assert any('waiting for another process' in err for _, err in outs)
    assert server.count(path) == 1
    expected, _ = convert_checkpoint(files['torchvision'][2], 'torchvision',
                                     hint=entry.hint)
    state_dict, _ = hub.load_converted(out)
    assert all(torch.equal(state_dict[k], expected[k]) for k in expected)
    leftovers = [name for _, _, names in os.walk(hub.cache_home())
                 for name in names if name.endswith(('.part', '.tmp'))]
    assert leftovers == []


def _damage(path, how):
    data = open(path, 'rb').read()
    if how == 'emptied':
        data = b''
    elif how == 'truncated':
        data = data[:len(data) // 2]
    else:  # one byte of tensor data flipped
        header = 8 + int.from_bytes(data[:8], 'little')
        data = bytearray(data)
        data[header + (len(data) - header) // 2] ^= 0x40
        data = bytes(data)
    with open(path, 'wb') as f:
        f.write(data)


@pytest.mark.reliability(kind='damaged cache',
                         case='converted file emptied, truncated, bit flip')
@pytest.mark.parametrize('how', ['emptied', 'truncated', 'bitflip'])
def test_damaged_cached_file_is_converted_again(how, server, files,
                                                monkeypatch, capsys):
    entry, path = serve(server, files, monkeypatch, 'torchvision')
    out = hub.fetch(TV_SMALL, progress=False)
    # copies: safetensors maps the file, which _damage rewrites in place
    good = {k: v.clone() for k, v in hub.load_converted(out)[0].items()}
    _damage(out, how)
    with pytest.warns(UserWarning, match=f"{out}.*converting "
                      f"{TV_SMALL!r} again"):
        weights_main(['fetch', TV_SMALL])
    assert capsys.readouterr().out.strip() == out
    assert server.count(path) == 1  # from the download still there
    again, _ = hub.load_converted(out)
    assert all(torch.equal(again[k], v) for k, v in good.items())
    # without the download, it is fetched again
    _damage(out, how)
    os.remove(hub.download_path(entry))
    with pytest.warns(UserWarning, match='again'):
        hub.fetch(TV_SMALL, progress=False)
    assert server.count(path) == 2


@pytest.mark.reliability(kind='damaged cache',
                         case='converted file given to infer and init_model')
@pytest.mark.parametrize('how', ['emptied', 'truncated', 'bitflip'])
def test_damaged_converted_file_is_named_with_the_remedy(how, tmp_path):
    from mbv3.apis import init_model
    from mbv3.cli.infer import main as infer
    torch.manual_seed(0)
    from tests.test_apis.test_weights_are_data import PREPROCESS, _model
    from mbv3.registry import MODELS
    path = str(tmp_path / 'mine.safetensors')
    save_converted(path, MODELS.build(_model()).state_dict(),
                   dict(model=_model(), preprocess=PREPROCESS))
    _damage(path, how)
    for load in (lambda: init_model(None, path),
                 lambda: infer(['-', path, path])):
        with pytest.raises(CorruptCheckpointError) as err:
            load()
        message = str(err.value)
        assert repr(path) in message and '\n' not in message
        assert 'tools/convert_checkpoint.py' in message


@pytest.mark.reliability(kind='damaged cache',
                         case='convert_checkpoint.py on a damaged checkpoint')
def test_convert_command_names_a_damaged_checkpoint_in_one_line(
        tmp_path, monkeypatch, capsys):
    import torchvision

    from mbv3.cli.convert import main as convert_main
    src = tmp_path / 'mobilenet_v3_small-047dcff4.pth'
    torch.save(torchvision.models.mobilenet_v3_small().state_dict(), src)
    src.write_bytes(src.read_bytes()[:4096])
    monkeypatch.setattr(sys, 'argv', ['mbv3-convert', str(src),
                                      str(tmp_path / 'out.safetensors')])
    with pytest.raises(SystemExit) as exit_:
        convert_main()  # as the command line runs it
    assert exit_.value.code == 1
    message = capsys.readouterr().err
    assert message.startswith('error: CorruptCheckpointError: checkpoint ')
    assert message.count('\n') == 1 and str(src) in message


@pytest.mark.reliability(kind='damaged cache',
                         case='crash while writing a converted file')
def test_converted_file_is_synced_before_it_replaces_the_old_one(
        tmp_path, monkeypatch):
    path = tmp_path / 'w.safetensors'
    save_converted(path, {'w': torch.ones(3)}, dict(model=None))
    old = path.read_bytes()

    def crash(fd):
        raise OSError(errno.EIO, 'power lost')

    monkeypatch.setattr(os, 'fsync', crash)
    with pytest.raises(OSError, match='power lost'):
        save_converted(path, {'w': torch.zeros(3)}, dict(model=None))
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ['w.safetensors']


@pytest.mark.reliability(kind='full disk', case='download fills the disk')
def test_full_disk_during_download_is_said_as_such(server, files,
                                                   monkeypatch):
    entry, _ = serve(server, files, monkeypatch, 'torchvision')
    real_open = open
    written = []

    def full_disk_open(file, mode='r', *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        if str(file).endswith('.part'):
            def write(data):
                if sum(written) >= 1 << 18:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                written.append(len(data))
                return f.__class__.write(f, data)
            f.write = write
        return f

    monkeypatch.setattr(hub, 'open', full_disk_open, raising=False)
    with pytest.raises(hub.WeightsDownloadError) as err:
        hub.fetch(TV_SMALL, progress=False)
    message = str(err.value)
    folder = osp.dirname(hub.download_path(entry))
    assert 'no space left on /' in message
    assert f'(the file system of {folder})' in message
    assert 'the transfer stopped' not in message
    assert osp.getsize(hub.download_path(entry) + '.part') == sum(written)
