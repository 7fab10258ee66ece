"""Faults and bad inputs, each with the outcome mbv3 promises for it
(formerly the reliability report command). Each test is marked
``reliability(kind, case)``; ``pytest --reliability-json PATH`` records
their outcomes, and ``docs/reliability.md``'s matrix is generated from
``docs/results/reliability.json``."""
import io
import random
import signal

import numpy as np
import pytest
import torch

from mbv3.datasets.transforms import (ImageDecodeError, LoadImageFromFile,
                                      decode_image)
from mbv3.models.backbones.mobilenet_v3 import MobileNetV3
from tests.toy_runner import (SendSignalHook, restore_signal_handlers,
                              toy_runner, weights)


@pytest.mark.reliability(kind='signal mid-epoch', case='SIGINT: saved, '
                         'resumed to the uninterrupted final state')
def test_sigint_saves_and_resume_equals_uninterrupted(tmp_path):
    reference = toy_runner(tmp_path / 'ref')
    reference.train()
    stopped = toy_runner(tmp_path / 'run',
                         hooks=[SendSignalHook(9, signal.SIGINT)])
    with pytest.raises((SystemExit, KeyboardInterrupt)):
        stopped.train()
    restore_signal_handlers(stopped)
    saved = str(tmp_path / 'run' / 'iter_10.pth')
    assert open(tmp_path / 'run' / 'last_checkpoint').read() == 'iter_10.pth'
    resumed = toy_runner(tmp_path / 'run', resume=True, load_from=saved)
    resumed.train()
    ref = weights(reference)
    for key, value in weights(resumed).items():
        assert torch.equal(value, ref[key]), key


BAD_INPUTS = {
    'not 4-D': (torch.rand(3, 32, 32), 'shape'),
    '1 channel for 3': (torch.rand(2, 1, 32, 32), 'shape'),
    'empty batch': (torch.rand(0, 3, 32, 32), 'shape'),
    'uint8': (torch.zeros(2, 3, 32, 32, dtype=torch.uint8), 'dtype'),
    'batch of 1 in training (1x1 BatchNorm)': (torch.rand(1, 3, 32, 32),
                                               'shape'),
    'empty height': (torch.rand(2, 3, 0, 32), 'shape'),
}


@pytest.mark.parametrize('name', [
    pytest.param(name, marks=pytest.mark.reliability(
        kind='bad model input', case=f'{name}: a clear error'))
    for name in BAD_INPUTS])
def test_bad_model_input_gets_a_clear_error(name):
    x, word = BAD_INPUTS[name]
    model = MobileNetV3('small_minimal').train()
    with pytest.raises((ValueError, TypeError)) as err:
        model(x)
    assert word in str(err.value) or 'floating point' in str(err.value)


BAD_CONFIGS = [dict(arch='medium'), dict(out_indices=(3, 3)),
               dict(out_indices=(99, )), dict(frozen_stages=99),
               dict(widen_factor=0), dict(widen_factor=-1.0)]


@pytest.mark.parametrize('kwargs', [
    pytest.param(kwargs, marks=pytest.mark.reliability(
        kind='bad config value', case=', '.join(
            f'{k}={v!r}' for k, v in kwargs.items())))
    for kwargs in BAD_CONFIGS])
def test_bad_config_value_is_named(kwargs):
    with pytest.raises((ValueError, TypeError)) as err:
        MobileNetV3(**kwargs)
    assert next(iter(kwargs)) in str(err.value)


def png_bytes() -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new('RGB', (32, 32), (1, 2, 3)).save(buf, 'PNG')
    return buf.getvalue()


BAD_IMAGES = {'empty.png': b'', 'cut.png': png_bytes()[:60],
              'text.jpg': b'hello\n', 'missing.png': None}


@pytest.mark.parametrize('name', [
    pytest.param(name, marks=pytest.mark.reliability(
        kind='bad image file', case=f'{name}: the error names the file'))
    for name in BAD_IMAGES])
def test_bad_image_file_is_named(tmp_path, name):
    path = str(tmp_path / name)
    if BAD_IMAGES[name] is not None:
        with open(path, 'wb') as f:
            f.write(BAD_IMAGES[name])
    with pytest.raises((ImageDecodeError, FileNotFoundError)) as err:
        LoadImageFromFile()(dict(img_path=path))
    assert repr(path) in str(err.value)


def fuzzed_images(count: int):
    """``count`` seeded byte strings: random bytes, and PNG, JPEG, BMP,
    GIF, TIFF and WebP files with bytes changed and cut."""
    from PIL import Image
    rng = random.Random(0)
    seeds = []
    for fmt in ('PNG', 'JPEG', 'BMP', 'GIF', 'TIFF', 'WEBP'):
        out = io.BytesIO()
        Image.fromarray(np.random.default_rng(0).integers(
            0, 256, (6, 5, 3), dtype=np.uint8)).save(out, fmt)
        seeds.append(out.getvalue())
    for i in range(count):
        if i % 4 == 0:
            yield bytes(rng.getrandbits(8)
                        for _ in range(rng.randint(0, 64)))
            continue
        blob = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 8)):
            blob[rng.randrange(len(blob))] = rng.getrandbits(8)
        yield bytes(blob[:rng.randint(1, len(blob))])


@pytest.mark.reliability(kind='bad image file', case='500 fuzzed image '
                         'files: each decodes to 3 channels or raises '
                         'ImageDecodeError')
def test_fuzzed_image_bytes_decode_or_raise_the_documented_error():
    outcomes = {'decoded': 0, 'ImageDecodeError': 0}
    for data in fuzzed_images(500):
        try:
            img = decode_image(data, 'fuzz')
        except ImageDecodeError:
            outcomes['ImageDecodeError'] += 1
            continue
        assert img.dtype == np.uint8 and img.ndim == 3 and \
            img.shape[2] == 3
        outcomes['decoded'] += 1
    # seeded: the counts the report recorded
    assert outcomes == {'decoded': 4, 'ImageDecodeError': 496}
