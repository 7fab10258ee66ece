"""Decode image files of any common layout into 8-bit, 3-channel arrays."""
import errno
import io
import logging
import os
import re
import stat
import warnings
from typing import Optional, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmengine.logging import print_log
from PIL import Image, ImageOps

from mbv3.registry import TRANSFORMS
from mbv3.utils.checks import check_int

_SIXTEEN_BIT_GRAY = ('I;16', 'I;16B', 'I;16L', 'I;16N', 'I')

# The pixel limit of every image mbv3 decodes: Pillow's (its
# ``Image.MAX_IMAGE_PIXELS``, 89,478,485: a 0.27 GB RGB array), enforced as a
# hard limit; this environment variable raises it (data loader workers
# inherit it). See :func:`set_max_image_pixels`.
MAX_PIXELS_ENV = 'MBV3_MAX_IMAGE_PIXELS'
PILLOW_MAX_PIXELS = Image.MAX_IMAGE_PIXELS
# Most bytes a file may hold per pixel of the limit (16-bit RGBA, stored raw).
_MAX_BYTES_PER_PIXEL = 8

# Why this process last skipped each file (read by the data set in the
# same process, right after the skip; see mbv3.datasets.bad_files).
_REASONS = {}


class ImageDecodeError(ValueError):
    """An image file is empty, truncated, corrupt, not an image, larger than
    the pixel limit, or not a regular file (a named pipe, a device, a
    symbolic link loop)."""


def max_image_pixels() -> int:
    """The most pixels (width x height) an image may have:
    ``$MBV3_MAX_IMAGE_PIXELS``, else Pillow's default limit."""
    return int(os.environ.get(MAX_PIXELS_ENV, PILLOW_MAX_PIXELS))


def set_max_image_pixels(pixels: int) -> None:
    """Raise (or lower) the pixel limit of every image read in this process
    and the processes it starts (``--max-image-pixels``).

    Pillow checks its own limit when it opens a file
    (``Image.MAX_IMAGE_PIXELS``, its documented setting), so it is set to
    the same value.

    Args:
        pixels (int): Width x height, >= 1.

    Raises:
        ValueError: If ``pixels`` is not an int >= 1.
    """
    check_int('--max-image-pixels', pixels, low=1,
              allowed='an int >= 1 (width x height)')
    os.environ[MAX_PIXELS_ENV] = str(pixels)
    Image.MAX_IMAGE_PIXELS = max(pixels, PILLOW_MAX_PIXELS)


def _too_big(filename: str, what: str) -> ImageDecodeError:
    return ImageDecodeError(
        f'cannot read image {filename!r}: {what}, more than the limit of '
        f'{max_image_pixels():,} pixels (a decompression bomb?); pass '
        f'--max-image-pixels N or set {MAX_PIXELS_ENV}=N for bigger images')


_FILE_KINDS = ((stat.S_ISFIFO, 'a named pipe'),
               (stat.S_ISCHR, 'a character device'),
               (stat.S_ISBLK, 'a block device'),
               (stat.S_ISSOCK, 'a socket'), (stat.S_ISDIR, 'a folder'))


def read_image_file(filename: str) -> bytes:
    """The bytes of a local image file, refusing what would hang or fill
    memory.

    The file is opened without blocking (a named pipe with no writer
    would wait forever) and must be a regular file (a link to
    ``/dev/zero`` reads forever) of at most 8 bytes per pixel of
    :func:`max_image_pixels`.

    Args:
        filename (str): Path, symbolic links followed.

    Returns:
        bytes: The file's content.

    Raises:
        FileNotFoundError: If the file (or a link's target) is missing.
        ImageDecodeError: For a named pipe, device, socket or folder, a
            symbolic link loop, an unreadable or an oversized file; the
            message names the file and what it is.
    """
    try:
        fd = os.open(filename, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0))
    except FileNotFoundError:
        raise FileNotFoundError(
            f'image {filename!r} does not exist') from None
    except OSError as err:
        what = 'a symbolic link loop' if err.errno == errno.ELOOP else \
            os.strerror(err.errno or 0).lower()
        raise ImageDecodeError(
            f'cannot read image {filename!r}: {what}') from None
    with os.fdopen(fd, 'rb') as f:
        mode = os.fstat(fd).st_mode
        for is_kind, kind in _FILE_KINDS:
            if is_kind(mode):
                raise ImageDecodeError(f'cannot read image {filename!r}: it '
                                       f'is {kind}, not a regular file')
        limit = _MAX_BYTES_PER_PIXEL * max_image_pixels()
        data = f.read(limit + 1)
    if len(data) > limit:
        raise _too_big(filename, f'the file holds more than {limit:,} bytes')
    return data


def skip_reason(filename: str) -> str:
    """Why this process last skipped ``filename`` (the error's message),
    or ''."""
    return _REASONS.get(filename, '')


def to_rgb8(img: Image.Image) -> np.ndarray:
    """Convert a decoded Pillow image to an ``(H, W, 3)`` uint8 RGB array.

    * grayscale (``L``, ``1``): the value is repeated in R, G and B;
    * 16-bit grayscale (``I;16*``): the high byte of each sample is kept
      (``v >> 8``), as Pillow already does for 16-bit RGB PNGs and
      libpng's ``png_set_strip_16``;
    * ``RGBA``, ``LA``, ``PA``: the alpha channel is dropped (colours as
      stored, as ``cv2.IMREAD_COLOR`` and Pillow's ``convert('RGB')``);
    * palette (``P``): looked up in the palette;
    * ``CMYK`` (JPEG): Pillow's ``R = (255 - C)(255 - K) / 255`` (likewise
      G from M and B from Y), after Pillow undoes Adobe's inverted CMYK.

    Args:
        img (PIL.Image.Image): A loaded image.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8, RGB order.
    """
    if img.mode in _SIXTEEN_BIT_GRAY:
        gray = (np.clip(np.asarray(img, dtype=np.int64), 0, 65535) >> 8)
        return np.repeat(gray.astype(np.uint8)[..., None], 3, axis=2)
    return np.asarray(img.convert('RGB'))


def jpeg_frame(data: bytes) -> Optional[Tuple[int, int, int]]:
    """``(height, width, components)`` from the frame header (SOF) of a
    complete JPEG file (one that starts with SOI and ends with EOI), or
    None for anything else (ITU-T T.81, B.2.2)."""
    if data[:2] != b'\xff\xd8' or data[-2:] != b'\xff\xd9':
        return None
    i = 2
    while i + 10 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return (int.from_bytes(data[i + 5:i + 7], 'big'),
                    int.from_bytes(data[i + 7:i + 9], 'big'), data[i + 9])
        i += 2 + int.from_bytes(data[i + 2:i + 4], 'big')
    return None


def _decode_jpeg(data: bytes) -> Optional[np.ndarray]:
    """OpenCV's decoding of a complete grayscale or YCbCr JPEG straight to
    RGB, or None (then Pillow decodes). The same libjpeg-turbo numbers and
    EXIF orientation as the Pillow path, without Pillow's copies
    (transpose, convert, array export); CMYK (whose conversion rounds
    differently), truncated files and images over
    :func:`max_image_pixels` go to Pillow (which names them)."""
    frame = jpeg_frame(data)
    if frame is None or frame[2] not in (1, 3):
        return None
    if frame[0] * frame[1] > max_image_pixels():
        return None
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB)


def decode_image(data: bytes, filename: str) -> np.ndarray:
    """Decode image bytes into ``(H, W, 3)`` uint8 RGB: with Pillow, or for
    a complete grayscale or colour JPEG with OpenCV (same pixels, fewer
    copies: :func:`_decode_jpeg`).

    The EXIF orientation is applied (as ``cv2.IMREAD_COLOR`` does). An
    image of more than :func:`max_image_pixels` pixels is refused before
    it is decoded.

    Args:
        data (bytes): The file's content.
        filename (str): Named in errors.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 RGB, via :func:`to_rgb8`.

    Raises:
        ImageDecodeError: For empty, truncated, corrupt, non-image or
            oversized data; the message names the file and the reason.
            Pillow's decoders raise many exception types on malformed
            input (OSError, SyntaxError, ValueError, struct.error, ...), so
            any exception from decoding becomes this one.
    """
    if not data:
        raise ImageDecodeError(f'cannot read image {filename!r}: the file '
                               'is empty (0 bytes)')
    fast = _decode_jpeg(data)
    if fast is not None:
        return fast
    try:
        with warnings.catch_warnings():
            # the limit is checked below, as an error
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
        with img:
            if img.width * img.height > max_image_pixels():
                raise _too_big(filename, f'{img.width}x{img.height} = '
                               f'{img.width * img.height:,} pixels')
            img.load()
            return to_rgb8(ImageOps.exif_transpose(img))
    except ImageDecodeError:
        raise
    except Image.DecompressionBombError as err:
        # Pillow's own check, at twice its limit, before the size is known
        found = re.search(r'\((\d+) pixels\)', str(err))
        raise _too_big(filename, f'{int(found[1]):,} pixels' if found else
                       'Pillow refuses its size') from None
    except Image.UnidentifiedImageError:
        raise ImageDecodeError(
            f'cannot read image {filename!r} ({len(data)} bytes): not an '
            'image format Pillow can identify') from None
    except Exception as err:  # noqa: BLE001 -- see Raises
        detail = str(err).strip().splitlines()
        raise ImageDecodeError(
            f'cannot read image {filename!r} ({len(data)} bytes): truncated '
            f'or corrupt ({type(err).__name__}: '
            f'{detail[0] if detail else "no detail"})') from None


def read_image(filename: str, color_type: str = 'color',
               channel_order: str = 'rgb',
               backend_args: Optional[dict] = None) -> np.ndarray:
    """The one image reader of mbv3 (data sets, inference, visualisation):
    :func:`read_image_file` (or mmengine's file backend for a URL or
    ``backend_args``), then :func:`decode_image`.

    Args:
        filename (str): Path or URL.
        color_type (str): 'color' (``(H, W, 3)``) or 'grayscale'
            (``(H, W)``).
        channel_order (str): 'rgb' or 'bgr' (for 'color').
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        np.ndarray: uint8 pixels.

    Raises:
        FileNotFoundError: For a missing file (named).
        ImageDecodeError: For a file that cannot be read (named); see
            :func:`read_image_file` and :func:`decode_image`.
    """
    data = read_image_file(filename) \
        if backend_args is None and '://' not in filename else \
        _backend_get(filename, backend_args)
    return rgb_as(decode_image(data, filename), color_type, channel_order)


def rgb_as(rgb: np.ndarray, color_type: str = 'color',
           channel_order: str = 'rgb') -> np.ndarray:
    """``(H, W, 3)`` RGB pixels as :func:`read_image` returns them for
    ``color_type`` and ``channel_order``."""
    if color_type == 'grayscale':
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return rgb[..., ::-1].copy() if channel_order == 'bgr' else rgb


def _backend_get(filename: str, backend_args: Optional[dict]) -> bytes:
    try:
        return fileio.get(filename, backend_args=backend_args)
    except FileNotFoundError:
        raise FileNotFoundError(f'image {filename!r} does not exist') from None


@TRANSFORMS.register_module()
class LoadImageFromFile(BaseTransform):
    """Load an image file as 8-bit, 3-channel (mmcv's ``LoadImageFromFile``
    keys and defaults, decoding with Pillow, or with OpenCV for complete
    grayscale and colour JPEGs: :func:`decode_image`).

    Every layout a data set may hold comes out the same way (see
    :func:`to_rgb8`): grayscale, 16-bit grayscale PNG, RGBA, palette and
    CMYK JPEG. A bad file raises an error naming it, or with
    ``skip_bad_files=True`` is skipped: the transform returns None, which
    mmengine's ``BaseDataset`` answers in training by drawing another
    sample (in test mode it raises). Skipped files are logged one by one;
    mbv3's data sets record them (:class:`~mbv3.datasets.skips.RecordsSkips`,
    data loader workers included) and ``BadFileReportHook`` reports them at
    the end of the run.

    Keys: reads ``img_path``; writes ``img`` (``(H, W, 3)`` uint8, or
    float32 with ``to_float32``; ``(H, W)`` for ``color_type='grayscale'``),
    ``img_shape`` and ``ori_shape`` (``(H, W)`` in pixels), and
    ``img_channel_order`` (``channel_order``), which the transforms that
    care about the order read (``AutoAugment``, ``RandomErasing``).

    Args:
        to_float32 (bool): Return float32 instead of uint8.
        color_type (str): 'color' or 'grayscale'.
        channel_order (str): 'bgr' (mmcv's default, undone by the data
            preprocessor's ``to_rgb=True``) or 'rgb' (as decoded: no copy;
            mbv3's recipes, with ``to_rgb=False``).
        skip_bad_files (bool): Skip unreadable files instead of raising.
        backend_args (dict, optional): mmengine file backend arguments.

    Raises:
        ValueError: For an unknown ``color_type`` or ``channel_order``.
        FileNotFoundError: At load time, for a missing file (named).
        ImageDecodeError: At load time, for an unreadable file (named).
    """

    def __init__(self, to_float32: bool = False, color_type: str = 'color',
                 channel_order: str = 'bgr', skip_bad_files: bool = False,
                 backend_args: Optional[dict] = None):
        if color_type not in ('color', 'grayscale'):
            raise ValueError(f"color_type must be 'color' or 'grayscale', "
                             f'got {color_type!r}')
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError(f"channel_order must be 'bgr' or 'rgb', got "
                             f'{channel_order!r}')
        self.to_float32 = to_float32
        self.color_type = color_type
        self.channel_order = channel_order
        self.skip_bad_files = skip_bad_files
        self.backend_args = backend_args

    def transform(self, results: dict) -> Optional[dict]:
        filename = results['img_path']
        try:
            img = read_image(filename, self.color_type, self.channel_order,
                             self.backend_args)
        except (FileNotFoundError, ImageDecodeError) as err:
            if not self.skip_bad_files:
                raise
            _REASONS[filename] = str(err)
            print_log(f'skipped: {err}', logger='current',
                      level=logging.WARNING)
            return None
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        results['img_channel_order'] = self.channel_order
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(to_float32={self.to_float32}, '
                f'color_type={self.color_type!r}, channel_order='
                f'{self.channel_order!r}, skip_bad_files='
                f'{self.skip_bad_files})')


@TRANSFORMS.register_module()
class LoadImageBytes(BaseTransform):
    """Read an image file's encoded bytes, for decoding on the device by
    :class:`~mbv3.models.classifiers.JpegClsDataPreprocessor` (the GPU
    decode path: ``torchvision.io.decode_jpeg``).

    Keys: reads ``img_path``; writes ``img_bytes``, a 1-D uint8 array of
    the file's content (pack it with ``PackInputs(input_key='img_bytes')``).

    Args:
        backend_args (dict, optional): mmengine file backend arguments.

    Raises:
        FileNotFoundError: At load time, for a missing file (named).
        ImageDecodeError: At load time, for an empty file (named).
    """

    def __init__(self, backend_args: Optional[dict] = None):
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        filename = results['img_path']
        data = _backend_get(filename, self.backend_args)
        if not data:
            raise ImageDecodeError(f'cannot read image {filename!r}: the '
                                   'file is empty (0 bytes)')
        results['img_bytes'] = np.frombuffer(bytearray(data), np.uint8)
        return results
