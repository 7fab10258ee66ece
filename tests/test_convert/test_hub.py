"""Published weights by name, served from a local HTTP server.

The files are real-layout checkpoints of each family (torchvision, timm,
mmpretrain, mmseg) with random weights; the registry entries keep their
family, arch and name and point at the server with the files' own sha256.
Name resolution is confined to 127.0.0.1: a lookup of any other host fails
the test, so nothing here reaches outside the machine.
"""
import hashlib
import io
import os
import os.path as osp
import shutil
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import load_checkpoint

from mbv3.convert import convert_checkpoint, read_metadata
from mbv3.convert import hub, weights
from mbv3.registry import MODELS
from tests.conftest import DIGITS_CONFIG, REPO
from tests.test_convert.test_convert import (build_mmpretrain,
                                             mmseg_layout_state_dict)

FINETUNE_CONFIG = osp.join(REPO, 'configs', 'mobilenet_v3',
                           'mobilenet-v3-small_finetune-folder.py')
TV_SMALL = 'mobilenet_v3_small.tv_in1k'
# one registry name per family, each with an arch whose model is quick
FAMILIES = {
    'torchvision': TV_SMALL,
    'timm': 'mobilenetv3_small_050.lamb_in1k',
    'mmpretrain': 'mobilenet-v3-small-050_3rdparty_in1k',
    'mmseg': 'mobilenet-v3-d8-s_lraspp_4xb4-320k_cityscapes-512x1024',
}


def _source_state_dict(source):
    torch.manual_seed(0)
    if source == 'torchvision':
        import torchvision
        return torchvision.models.mobilenet_v3_small().state_dict()
    if source == 'timm':
        import timm
        return timm.create_model('mobilenetv3_small_050').state_dict()
    if source == 'mmpretrain':
        return {'meta': {'mmcls_version': '0.24.1', 'epoch': 600},
                'state_dict': build_mmpretrain('small_050').state_dict()}
    return {'meta': {'CLASSES': ['road', 'sidewalk']},
            'state_dict': mmseg_layout_state_dict('small')}


@pytest.fixture(scope='module')
def files():
    """``{source: (file bytes, sha256, source checkpoint)}``."""
    out = {}
    for source in FAMILIES:
        checkpoint = _source_state_dict(source)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        data = buffer.getvalue()
        out[source] = (data, hashlib.sha256(data).hexdigest(), checkpoint)
    return out


class Served:
    """What the server holds and saw: ``files`` by URL path, ``requests``
    as ``(path, Range header)``, the paths whose next answer is cut in
    half (``truncate``), those sent without a Content-Length
    (``no_length``), and the seconds to wait after each 64 KiB sent
    (``delay``)."""

    def __init__(self):
        self.files, self.requests, self.truncate = {}, [], set()
        self.no_length, self.delay = set(), 0.0
        self.base = ''

    def count(self, path):
        return sum(p == path for p, _ in self.requests)


def _handler(served):

    class Handler(BaseHTTPRequestHandler):

        def do_GET(self):  # noqa: N802 (http.server's name)
            byte_range = self.headers.get('Range')
            served.requests.append((self.path, byte_range))
            data = served.files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            start = int(byte_range[len('bytes='):-1]) if byte_range else 0
            if start >= len(data):
                self.send_error(416)
                return
            body = data[start:]
            self.send_response(206 if byte_range else 200)
            if self.path in served.no_length:
                self.send_header('Connection', 'close')
            else:
                self.send_header('Content-Length', str(len(body)))
            if byte_range:
                self.send_header('Content-Range',
                                 f'bytes {start}-{len(data) - 1}/{len(data)}')
            self.end_headers()
            if self.path in served.truncate:
                served.truncate.discard(self.path)
                body = body[:len(body) // 2]
            try:
                for at in range(0, len(body), 1 << 16):
                    self.wfile.write(body[at:at + (1 << 16)])
                    time.sleep(served.delay)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def server():
    served = Served()
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), _handler(served))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    served.base = f'http://127.0.0.1:{httpd.server_address[1]}'
    yield served
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def local_only(monkeypatch, tmp_path):
    """An empty cache, no mirror, and name lookups of 127.0.0.1 only."""
    lookup = socket.getaddrinfo

    def local_lookup(host, *args, **kwargs):
        if host not in ('127.0.0.1', 'localhost'):
            raise AssertionError(f'the test tried to reach {host}')
        return lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket, 'getaddrinfo', local_lookup)
    monkeypatch.setenv(hub.HOME_ENV, str(tmp_path / 'mbv3_home'))
    monkeypatch.delenv(hub.MIRROR_ENV, raising=False)


def serve(server, files, monkeypatch, source, **changes):
    """Put ``source``'s file on the server and point its registry entry at
    it (or at ``changes['url']``); return the entry and the URL path."""
    data, digest, _ = files[source]
    entry = weights.WEIGHTS[FAMILIES[source]]
    path = f'/files/{source}/{entry.filename}'
    server.files[path] = data
    entry = entry._replace(**{'url': server.base + path, 'sha256': digest,
                              **changes})
    monkeypatch.setitem(weights.WEIGHTS, entry.name, entry)
    return entry, path


@pytest.mark.parametrize('source', list(FAMILIES))
def test_download_convert_then_cache_hit(source, server, files,
                                         monkeypatch):
    entry, path = serve(server, files, monkeypatch, source)
    out = hub.fetch(entry.name, progress=False)
    assert out == osp.join(os.environ[hub.HOME_ENV], 'weights',
                           f'{entry.name}.safetensors')
    meta = read_metadata(out)
    assert (meta['source'], meta['arch'], meta['weights']) == \
        (source, entry.arch, entry.name)
    assert (meta['url'], meta['sha256']) == (entry.url, files[source][1])
    expected, _ = convert_checkpoint(files[source][2], source,
                                     hint=entry.hint)
    state_dict, _ = hub.load_converted(out)
    assert state_dict.keys() == expected.keys()
    assert all(torch.equal(state_dict[k], expected[k]) for k in expected)
    # the second use reads the cache: no request, the same file
    assert hub.fetch('mbv3://' + entry.name) == out
    assert server.count(path) == 1


def test_hash_mismatch_deletes_the_file(server, files, monkeypatch):
    wrong = '0' * 64
    entry, _ = serve(server, files, monkeypatch, 'torchvision', sha256=wrong)
    with pytest.raises(hub.WeightsHashError) as err:
        hub.fetch(TV_SMALL, progress=False)
    message = str(err.value)
    assert entry.url in message and wrong in message
    assert files['torchvision'][1] in message
    assert not osp.exists(hub.download_path(entry))
    assert not osp.exists(hub.converted_path(entry))


def test_truncated_transfer_resumes(server, files, monkeypatch):
    entry, path = serve(server, files, monkeypatch, 'torchvision')
    server.truncate.add(path)
    size = len(files['torchvision'][0])
    with pytest.raises(hub.WeightsDownloadError,
                       match=f'stopped after {size // 2} of {size} bytes'):
        hub.fetch(TV_SMALL, progress=False)
    part = hub.download_path(entry) + '.part'
    assert osp.getsize(part) == size // 2
    out = hub.fetch(TV_SMALL, progress=False)
    assert server.requests[-1] == (path, f'bytes={size // 2}-')
    assert read_metadata(out)['sha256'] == files['torchvision'][1]
    assert not osp.exists(part)


def test_mirror_replaces_the_public_host(server, files, monkeypatch):
    public = weights.WEIGHTS[TV_SMALL].url  # https://download.pytorch.org/..
    entry, _ = serve(server, files, monkeypatch, 'torchvision', url=public)
    mirrored = '/mirror/models/' + entry.filename
    server.files[mirrored] = files['torchvision'][0]
    monkeypatch.setenv(hub.MIRROR_ENV, server.base + '/mirror/')
    out = hub.fetch(TV_SMALL, progress=False)
    assert server.requests == [(mirrored, None)]
    assert read_metadata(out)['url'] == public


def test_no_network_names_the_cache_path_and_uses_a_dropped_file(
        files, monkeypatch):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    url = f'http://127.0.0.1:{port}/models/mobilenet_v3_small-047dcff4.pth'
    entry = weights.WEIGHTS[TV_SMALL]._replace(
        url=url, sha256=files['torchvision'][1])
    monkeypatch.setitem(weights.WEIGHTS, TV_SMALL, entry)
    drop = hub.download_path(entry)
    with pytest.raises(hub.WeightsDownloadError) as err:
        hub.fetch(TV_SMALL, progress=False)
    assert f'from {url}:' in str(err.value)
    assert f'put it at {drop} ' in str(err.value)
    with open(drop, 'wb') as f:
        f.write(files['torchvision'][0])
    out = hub.fetch(TV_SMALL, progress=False)
    assert read_metadata(out)['sha256'] == files['torchvision'][1]


def _finetune_model(num_classes):
    cfg = Config.fromfile(FINETUNE_CONFIG)
    cfg.model.head.num_classes = num_classes
    cfg.model.data_preprocessor = dict(cfg.data_preprocessor,
                                       num_classes=num_classes)
    return cfg, MODELS.build(cfg.model)


def test_finetune_config_and_load_from_read_weights_by_name(
        server, files, monkeypatch):
    serve(server, files, monkeypatch, 'torchvision')
    cfg, model = _finetune_model(num_classes=3)
    assert cfg.model.backbone.init_cfg.checkpoint == 'mbv3://' + TV_SMALL
    model.init_weights()  # init_cfg Pretrained, prefix 'backbone.'
    cached, _ = hub.load_converted(hub.fetch(TV_SMALL))
    backbone = model.backbone.state_dict()
    assert all(torch.equal(backbone[k[len('backbone.'):]], v)
               for k, v in cached.items() if k.startswith('backbone.'))
    # load_from= goes through mmengine's loader as well: the whole
    # classifier but the 3-class output layer
    _, fresh = _finetune_model(num_classes=3)
    load_checkpoint(fresh, 'mbv3://' + TV_SMALL, strict=False)
    hidden = 'head.layers.0.fc.weight'
    assert torch.equal(fresh.state_dict()[hidden], cached[hidden])
    assert server.count(f'/files/torchvision/{weights.WEIGHTS[TV_SMALL].filename}') == 1


def test_tools_take_names(server, files, monkeypatch, tmp_path, capsys):
    from skimage import data
    from skimage.io import imsave

    from mbv3.apis import init_model
    from mbv3.cli.convert import main as convert_main
    from mbv3.cli.infer import main as infer
    serve(server, files, monkeypatch, 'torchvision')
    out = tmp_path / 'small.pth'
    meta = convert_main([TV_SMALL, str(out)])
    assert meta == read_metadata(hub.fetch(TV_SMALL))
    assert read_metadata(out)['weights'] == TV_SMALL
    model = init_model(None, TV_SMALL)
    assert model.head.layers[1].fc.out_features == 1000
    image = tmp_path / 'cat.png'
    imsave(image, data.chelsea())
    results = infer(['-', 'mbv3://' + TV_SMALL, str(image), '--topk', '3'])
    assert [len(r['topk']) for r in results] == [3]
    with pytest.raises(FileNotFoundError, match='does not exist'):
        infer([DIGITS_CONFIG, 'missing.pth', str(image)])


def test_names_and_paths_are_told_apart(tmp_path, monkeypatch):
    assert hub.weights_name('mbv3://' + TV_SMALL) == TV_SMALL
    assert hub.weights_name(TV_SMALL) == TV_SMALL
    assert hub.weights_name('work_dirs/epoch_20.pth') is None
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(DIGITS_CONFIG, TV_SMALL)  # a file of that name wins
    assert hub.resolve_checkpoint(TV_SMALL) == TV_SMALL
    with pytest.raises(ValueError, match="unknown weights 'mbv3_large'"):
        hub.fetch('mbv3://mbv3_large')
