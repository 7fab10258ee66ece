"""Special files in image folders (a named pipe, a link to /dev/zero, a
link loop, a name that is not UTF-8, a 0-byte file) and decompression
bombs: every command that reads folders skips, names and counts them and
goes on; never a hang, never unbounded memory (issue 23)."""
import glob
import io
import json
import os
import re
import signal
import struct
import zlib

import pytest
from PIL import Image

from mbv3.datasets.transforms import (ImageDecodeError, LoadImageFromFile,
                                      read_image)
from tests.conftest import DIGITS_CONFIG, initial_checkpoint, \
    write_image_folder

NOT_UTF8 = os.fsdecode(b'caf\xe9.png')  # Latin-1 'café.png'
# kind -> what the skip message says
SPECIAL = {
    'named pipe': 'it is a named pipe, not a regular file',
    'symlink to /dev/zero': 'it is a character device, not a regular file',
    'symlink loop': 'a symbolic link loop',
    '0-byte file': 'the file is empty (0 bytes)',
}
KIND = 'special file in an image folder'


def add_special_files(folder, png: bytes) -> dict:
    """Each special file in ``folder``, plus a readable PNG whose name is
    not UTF-8; kind -> path."""
    paths = {kind: os.path.join(folder, name) for kind, name in (
        ('named pipe', 'pipe.png'), ('symlink to /dev/zero', 'zero.png'),
        ('symlink loop', 'loop.png'), ('0-byte file', 'empty.png'),
        ('non-UTF-8 name', NOT_UTF8))}
    os.mkfifo(paths['named pipe'])
    os.symlink('/dev/zero', paths['symlink to /dev/zero'])
    os.symlink(paths['symlink loop'], paths['symlink loop'])
    open(paths['0-byte file'], 'wb').close()
    with open(paths['non-UTF-8 name'], 'wb') as f:
        f.write(png)
    return paths


@pytest.fixture(autouse=True)
def no_hang():
    """A read that blocks (a pipe) fails the test instead of hanging."""

    def hung(signum, frame):
        raise TimeoutError('the command hung on a special file')

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def pillow_limit(monkeypatch):
    """Pillow's limit and the environment as installed, after each test."""
    monkeypatch.delenv('MBV3_MAX_IMAGE_PIXELS', raising=False)
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', Image.MAX_IMAGE_PIXELS)


def png_bytes(size=(32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new('RGB', size, (10, 200, 30)).save(out, 'PNG')
    return out.getvalue()


@pytest.mark.parametrize('kind', [
    pytest.param(k, marks=pytest.mark.reliability(
        kind=KIND, case=f'{k}: the reader refuses it, naming it'))
    for k in SPECIAL])
def test_reader_names_each_special_file(tmp_path, kind):
    path = add_special_files(str(tmp_path), png_bytes())[kind]
    with pytest.raises(ImageDecodeError) as err:
        read_image(path)
    assert str(err.value) == f'cannot read image {path!r}: {SPECIAL[kind]}'
    assert LoadImageFromFile(skip_bad_files=True)(dict(img_path=path)) \
        is None


@pytest.fixture(scope='module')
def two_class_checkpoint(tmp_path_factory):
    from mmengine.config import Config

    from mbv3.datasets.data_root import resolve_num_classes
    cfg = Config.fromfile(DIGITS_CONFIG)
    classes = ('brick', 'grass')
    resolve_num_classes(cfg, classes)
    return initial_checkpoint(
        cfg, tmp_path_factory.mktemp('ckpt') / 'epoch_1.pth', classes)


def skipped_kinds(errors_by_image, paths) -> dict:
    return {kind: errors_by_image[paths[kind]] for kind in SPECIAL}


@pytest.mark.reliability(kind=KIND, case='infer.py: every kind skipped and '
                         'named; --out .json and .csv written')
def test_infer_skips_names_counts_and_writes_escaped(two_class_checkpoint,
                                                     tmp_path, capsys):
    from mbv3.cli.infer import main as infer
    root = write_image_folder(tmp_path / 'tex', ('val', ), per_class=2)
    paths = add_special_files(os.path.join(root, 'val', 'brick'),
                              png_bytes())
    out_json, out_csv = str(tmp_path / 'r.json'), str(tmp_path / 'r.csv')
    results = infer([DIGITS_CONFIG, two_class_checkpoint, root, '--out',
                     out_json, '--allow-skipped'])
    infer([DIGITS_CONFIG, two_class_checkpoint, root, '--out', out_csv,
           '--allow-skipped'])
    errors = {r['image']: r['error'] for r in results if 'error' in r}
    assert skipped_kinds(errors, paths) == {
        kind: f'cannot read image {paths[kind]!r}: {why}'
        for kind, why in SPECIAL.items()}
    assert len(results) == 4 + 5 and len(errors) == 4
    escaped = paths['non-UTF-8 name'].replace(NOT_UTF8, 'caf\\xe9.png')
    with open(out_json, encoding='utf-8') as f:
        written = {r['image']: r for r in json.load(f)}
    assert 'topk' in written[escaped]
    with open(out_csv, encoding='utf-8') as f:
        rows = f.read().splitlines()
    assert sum(row.startswith(f'{escaped},') for row in rows) == 2  # top-2
    out = capsys.readouterr().out
    assert f'{escaped}: ' in out
    assert 'skipped 4 unreadable file(s):' in out


@pytest.mark.reliability(kind=KIND, case='test.py: every kind skipped and '
                         'named; the others scored')
def test_test_py_skips_names_and_counts(two_class_checkpoint, tmp_path):
    from mbv3.cli.test import main as test
    root = write_image_folder(tmp_path / 'tex', ('train', 'val'),
                              per_class=2)
    paths = add_special_files(os.path.join(root, 'val', 'brick'),
                              png_bytes())
    out = str(tmp_path / 'test.json')
    metrics = test([DIGITS_CONFIG, two_class_checkpoint, '--data-root', root,
                    '--work-dir', str(tmp_path / 'work'), '--out', out,
                    '--allow-skipped'])
    with open(out, encoding='utf-8') as f:
        report = json.load(f)
    errors = {item['image']: item['error'] for item in report['skipped']}
    assert skipped_kinds(errors, paths) == {
        kind: f'cannot read image {paths[kind]!r}: {why}'
        for kind, why in SPECIAL.items()}
    assert len(errors) == 4
    # 4 photos + the non-UTF-8 PNG scored: top-1 is a multiple of 1/5
    assert metrics['accuracy/top1'] * 5 / 100 == pytest.approx(
        round(metrics['accuracy/top1'] * 5 / 100), abs=1e-6)


@pytest.mark.reliability(kind=KIND, case='automatic val split: the '
                         'non-UTF-8 name left out and named, no crash')
def test_val_split_names_what_it_leaves_out(tmp_path):
    from mbv3.datasets import CustomDataset
    from mbv3.datasets.folder import make_val_split
    root = write_image_folder(tmp_path / 'tex', ('train', ), per_class=4)
    paths = add_special_files(os.path.join(root, 'train', 'brick'),
                              png_bytes())
    split = make_val_split(os.path.join(root, 'train'), str(tmp_path / 'w'))
    assert split['not_utf8'] == ['brick/caf\\xe9.png']
    assert split['train'] + split['val'] == 8 + 4
    listed = []
    for which in ('train_file', 'val_file'):
        dataset = CustomDataset(
            data_root=os.path.join(root, 'train'), ann_file=split[which],
            classes=split['classes'], report_bad_files=True,
            pipeline=[dict(type='LoadImageFromFile', skip_bad_files=True)])
        listed += [dataset[i].get('skipped_file')
                   for i in range(len(dataset))]
    assert sorted(p for p in listed if p) == sorted(
        paths[kind] for kind in SPECIAL)


@pytest.mark.slow
@pytest.mark.reliability(kind=KIND, case='train.py: every kind skipped and '
                         'counted; the run ends')
def test_training_skips_and_counts(tmp_path):
    from mbv3.cli.train import main as train
    root = write_image_folder(tmp_path / 'tex', ('train', 'val'),
                              per_class=4)
    add_special_files(os.path.join(root, 'train', 'brick'), png_bytes())
    work_dir = str(tmp_path / 'work')
    train([DIGITS_CONFIG, '--data-root', root, '--work-dir', work_dir,
           '--cfg-options', 'train_cfg.max_epochs=1',
           'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0'])
    assert os.path.isfile(os.path.join(work_dir, 'epoch_1.pth'))
    (log, ) = glob.glob(os.path.join(work_dir, '*', '*.log'))
    with open(log, encoding='utf-8') as f:
        text = f.read()
    # BadFileReportHook at the end: every special file that was drawn
    # (each is drawn at least once an epoch; a redraw may draw it again)
    (report, ) = re.findall(r'skipped (\d+) unreadable image file\(s\) '
                            r'\((\d+) time\(s\) in all\): (.*)', text)
    assert int(report[0]) == 4 and int(report[1]) >= 4
    assert set(re.findall(r'/(\w+\.png)', report[2])) == {
        'pipe.png', 'zero.png', 'loop.png', 'empty.png'}


def bomb_png(width: int, height: int) -> bytes:
    """A grayscale PNG of ``width`` x ``height`` zeros: small on disk,
    ``width * height`` bytes decoded."""
    def chunk(tag, data):
        return struct.pack('>I', len(data)) + tag + data + struct.pack(
            '>I', zlib.crc32(tag + data))

    squeeze = zlib.compressobj(9)
    row = b'\0' * (width + 1)  # filter byte + pixels
    idat = b''.join(squeeze.compress(row) for _ in range(height))
    idat += squeeze.flush()
    return (b'\x89PNG\r\n\x1a\n' +
            chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0,
                                       0)) + chunk(b'IDAT', idat) +
            chunk(b'IEND', b''))


@pytest.mark.reliability(kind='decompression bomb', case='20000x20000 PNG '
                         '(0.4 GB decoded): refused before decoding')
def test_bomb_refused_by_the_reader(tmp_path):
    path = str(tmp_path / 'bomb.png')
    with open(path, 'wb') as f:
        f.write(bomb_png(20000, 20000))
    assert os.path.getsize(path) < 2e6
    with pytest.raises(ImageDecodeError, match=(
            r"bomb\.png': 400,000,000 pixels, more than the "
            r'limit of 89,478,485 pixels \(a decompression bomb\?\); pass '
            '--max-image-pixels N')):
        read_image(path)


@pytest.mark.reliability(kind='decompression bomb', case='vis_cam.py reads '
                         'with the same limit; --max-image-pixels raises it')
def test_vis_cam_has_the_limit_and_the_option(two_class_checkpoint, tmp_path,
                                              monkeypatch):
    from mbv3.cli.vis_cam import main as vis_cam
    path = str(tmp_path / 'big.png')
    with open(path, 'wb') as f:
        f.write(png_bytes((300, 200)))
    out = str(tmp_path / 'cam.png')
    monkeypatch.setenv('MBV3_MAX_IMAGE_PIXELS', '50000')
    with pytest.raises(ImageDecodeError, match='300x200 = 60,000 pixels, '
                       'more than the limit of 50,000 pixels'):
        vis_cam([DIGITS_CONFIG, two_class_checkpoint, path, out])
    assert vis_cam([DIGITS_CONFIG, two_class_checkpoint, path, out,
                    '--max-image-pixels', '60000']) == out
