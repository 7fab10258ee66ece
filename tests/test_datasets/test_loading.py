"""LoadImageFromFile: every common image layout becomes 8-bit, 3-channel;
bad files are named, or skipped and counted."""
import io
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mbv3.datasets import CustomDataset
from mbv3.datasets.transforms import (ImageDecodeError, LoadImageFromFile,
                                      decode_image)
from mbv3.engine.hooks import BadFileReportHook


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, 'PNG')
    return buf.getvalue()


def load(path, **kwargs):
    return LoadImageFromFile(**kwargs)(dict(img_path=str(path)))


def test_grayscale_repeats_the_value_in_bgr(tmp_path):
    path = tmp_path / 'gray.png'
    Image.fromarray(np.array([[0, 7], [128, 255]], np.uint8)).save(path)
    out = load(path)
    assert out['img'].dtype == np.uint8 and out['img'].shape == (2, 2, 3)
    assert out['img'][..., 0].tolist() == [[0, 7], [128, 255]]
    assert (out['img'] == out['img'][..., :1]).all()
    assert out['img_shape'] == out['ori_shape'] == (2, 2)


def test_rgba_drops_alpha_and_keeps_colour(tmp_path):
    path = tmp_path / 'rgba.png'
    Image.new('RGBA', (3, 2), (10, 20, 30, 0)).save(path)
    assert load(path)['img'][0, 0].tolist() == [30, 20, 10]  # BGR
    assert load(path, channel_order='rgb')['img'][1, 2].tolist() == \
        [10, 20, 30]


def test_channel_order_is_recorded(tmp_path):
    path = tmp_path / 'rgb.png'
    Image.new('RGB', (3, 2), (10, 20, 30)).save(path)
    out = load(path, channel_order='rgb')
    assert out['img_channel_order'] == 'rgb'
    assert out['img'][0, 0].tolist() == [10, 20, 30]
    assert load(path)['img_channel_order'] == 'bgr'


def test_palette_is_looked_up(tmp_path):
    path = tmp_path / 'palette.png'
    img = Image.new('P', (2, 1))
    img.putpalette([0, 0, 0, 200, 100, 50] + [0] * 762)
    img.putpixel((1, 0), 1)
    img.save(path)
    assert load(path, channel_order='rgb')['img'][0].tolist() == \
        [[0, 0, 0], [200, 100, 50]]


def test_16_bit_png_keeps_the_high_byte(tmp_path):
    gray = tmp_path / 'gray16.png'
    Image.fromarray(np.array([[0x1234, 0xffff, 0x00ff]], np.uint16)).save(
        gray)
    assert load(gray)['img'][0, :, 0].tolist() == [0x12, 0xff, 0x00]
    colour = tmp_path / 'rgb16.png'
    # cv2 writes BGR: this pixel is R=0xffff, G=0xabcd, B=0x1234.
    cv2.imwrite(str(colour), np.full((1, 1, 3), [0x1234, 0xabcd, 0xffff],
                                     np.uint16))
    assert load(colour, channel_order='rgb')['img'][0, 0].tolist() == \
        [0xff, 0xab, 0x12]


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / 'cmyk.jpg'
    Image.new('CMYK', (8, 8), (10, 200, 30, 40)).save(path, quality=100)
    # (255 - C)(255 - K)/255 = 245 * 215 / 255 = 206.6 -> 207, and so on.
    rgb = load(path, channel_order='rgb')['img']
    assert rgb.shape == (8, 8, 3)
    assert rgb[3, 3].tolist() == [207, 46, 190]


def test_grayscale_output_and_float(tmp_path):
    path = tmp_path / 'rgb.png'
    Image.new('RGB', (2, 2), (255, 0, 0)).save(path)
    gray = load(path, color_type='grayscale', to_float32=True)['img']
    assert gray.shape == (2, 2) and gray.dtype == np.float32
    assert gray[0, 0] == 76.0  # 0.299 * 255 (cv2's RGB2GRAY)


@pytest.mark.parametrize('name,data,reason', [
    ('empty.png', b'', r'empty \(0 bytes\)'),
    ('notes.png', b'just some text\n' * 4, 'not an image format'),
    ('cut.png', None, 'truncated or corrupt'),
])
def test_bad_file_error_names_the_file(tmp_path, name, data, reason):
    path = tmp_path / name
    if data is None:
        good = png_bytes(Image.new('RGB', (64, 64), (1, 2, 3)))
        data = good[:len(good) // 2]
    path.write_bytes(data)
    with pytest.raises(ImageDecodeError, match=reason) as err:
        load(path)
    assert str(path) in str(err.value)
    assert '\n' not in str(err.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='gone.png'):
        load(tmp_path / 'gone.png')


def test_bad_argument_values():
    with pytest.raises(ValueError, match="color_type must be 'color'"):
        LoadImageFromFile(color_type='unchanged')
    with pytest.raises(ValueError, match="channel_order must be 'bgr'"):
        LoadImageFromFile(channel_order='hsv')


def test_skip_bad_files_draws_another_and_counts(tmp_path, monkeypatch):
    for label in ('a', 'b'):
        (tmp_path / label).mkdir()
        Image.new('L', (4, 4), 9).save(tmp_path / label / 'ok.png')
    (tmp_path / 'a' / 'zero.png').write_bytes(b'')
    dataset = CustomDataset(
        data_root=str(tmp_path), pipeline=[
            dict(type='LoadImageFromFile', skip_bad_files=True)])
    bad = str(tmp_path / 'a' / 'zero.png')
    index = [dataset.get_data_info(i)['img_path']
             for i in range(len(dataset))].index(bad)
    assert dataset[index]['img'].shape == (4, 4, 3)  # another sample
    assert dataset.skipped_files()[bad] >= 1  # a redraw may pick it again
    assert list(dataset.skipped_files()) == [bad]
    messages = []
    monkeypatch.setattr('mbv3.engine.hooks.bad_file_report.print_log',
                        lambda msg, **kw: messages.append(msg))
    runner = SimpleNamespace(_train_loop=SimpleNamespace(
        dataloader=SimpleNamespace(dataset=dataset)), _val_loop=dict())
    BadFileReportHook().after_run(runner)
    assert len(messages) == 1 and bad in messages[0]
    assert 'unreadable image file(s)' in messages[0]


def test_skips_in_loader_workers_are_counted(tmp_path):
    """Two workers each skip files; the main process sees every skip."""
    from torch.utils.data import DataLoader
    (tmp_path / 'a').mkdir()
    bad = []
    for i in range(4):
        Image.new('L', (4, 4), 9).save(tmp_path / 'a' / f'ok{i}.png')
        (tmp_path / 'a' / f'zero{i}.png').write_bytes(b'')
        bad.append(str(tmp_path / 'a' / f'zero{i}.png'))
    dataset = CustomDataset(
        data_root=str(tmp_path), test_mode=False, pipeline=[
            dict(type='LoadImageFromFile', skip_bad_files=True)])
    loader = DataLoader(dataset, batch_size=2, num_workers=2,
                        collate_fn=lambda batch: batch)
    samples = [s for batch in loader for s in batch]
    assert len(samples) == 8
    assert all(s['img_path'] not in bad for s in samples)
    skipped = dataset.skipped_files()
    # each bad file is drawn once by index (4 skips), and redraws may
    # draw bad files again
    assert sorted(skipped) == bad and sum(skipped.values()) >= 4


def test_missing_file_in_ann_file_is_named(tmp_path):
    (tmp_path / 'img').mkdir()
    Image.new('L', (4, 4)).save(tmp_path / 'img' / 'one.png')
    (tmp_path / 'ann.txt').write_text('one.png 0\ntwo.png 1\n')
    with pytest.raises(FileNotFoundError, match=r'ann.txt:2: image .*two'
                       r'\.png.* does not exist'):
        CustomDataset(data_root=str(tmp_path), data_prefix='img',
                      ann_file='ann.txt')


def _valid_images():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    out = [png_bytes(Image.fromarray(pixels))]
    for fmt in ('JPEG', 'BMP', 'GIF', 'TIFF', 'WEBP'):
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, fmt)
        out.append(buf.getvalue())
    return out


VALID = _valid_images()


def _check_decodes_or_documented_error(data):
    try:
        img = decode_image(data, 'fuzz.bin')
    except ImageDecodeError as err:
        assert 'fuzz.bin' in str(err)
        return
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3


@pytest.mark.filterwarnings('ignore::UserWarning')  # Pillow: corrupt EXIF
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=256))
def test_fuzzed_bytes_decode_or_raise_the_documented_error(data):
    _check_decodes_or_documented_error(data)


@pytest.mark.filterwarnings('ignore::UserWarning')
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VALID), st.data())
def test_mutated_images_decode_or_raise_the_documented_error(valid, data):
    blob = bytearray(valid)
    edits = data.draw(st.lists(
        st.tuples(st.integers(0, len(blob) - 1), st.integers(0, 255)),
        min_size=1, max_size=8))
    for pos, value in edits:
        blob[pos] = value
    cut = data.draw(st.integers(1, len(blob)))
    _check_decodes_or_documented_error(bytes(blob[:cut]))


def _jpeg(image: Image.Image, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, 'JPEG', quality=90, **options)
    return buf.getvalue()


def test_jpeg_fast_path_gives_pillows_pixels(photos, monkeypatch):
    """OpenCV decodes complete grayscale and colour JPEGs: the same pixels
    and EXIF orientation as Pillow."""
    from mbv3.datasets.transforms import loading
    _, raw = photos
    rotated = Image.fromarray(raw[1])
    exif = rotated.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise
    files = [_jpeg(Image.fromarray(raw[1])),
             _jpeg(Image.fromarray(raw[1]), progressive=True),
             _jpeg(Image.fromarray(raw[0][..., 0])),  # grayscale
             _jpeg(rotated, exif=exif)]
    fast = [decode_image(data, 'x.jpg') for data in files]
    assert [loading.jpeg_frame(d)[2] for d in files] == [3, 3, 1, 3]
    monkeypatch.setattr(loading, '_decode_jpeg', lambda data: None)
    for data, ours in zip(files, fast):
        np.testing.assert_array_equal(ours, decode_image(data, 'x.jpg'))
    assert fast[3].shape == (451, 300, 3)


def test_jpeg_fast_path_leaves_cmyk_and_cut_files_to_pillow(monkeypatch):
    from mbv3.datasets.transforms import loading
    cmyk = _jpeg(Image.new('CMYK', (8, 8), (10, 200, 30, 40)))
    whole = _jpeg(Image.new('RGB', (64, 64), (10, 200, 30)))
    assert loading.jpeg_frame(cmyk) == (8, 8, 4)
    assert loading._decode_jpeg(cmyk) is None
    assert loading._decode_jpeg(whole[:-100]) is None
    with pytest.raises(ImageDecodeError, match='truncated or corrupt'):
        decode_image(whole[:len(whole) // 2], 'cut.jpg')
    monkeypatch.setattr(loading, 'max_image_pixels', lambda: 64 * 64 - 1)
    assert loading._decode_jpeg(whole) is None
