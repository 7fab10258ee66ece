"""What a checkpoint family needs besides its keys: numerics (padding, BN
eps) and the preprocessing its weights were evaluated with.

Sources of the numbers:

* torchvision ``MobileNet_V3_{Large,Small}_Weights``: BN eps 1e-3,
  resize 256 (232 for Large ``IMAGENET1K_V2``), crop 224, bilinear,
  ImageNet mean/std.
* timm ``mobilenetv3.py`` ``default_cfgs`` and ``_gen_mobilenet_v3``:
  BN eps 1e-5 (torch's default) for timm-trained weights; the ``tf_``
  ports set ``bn_eps=1e-3`` and ``pad_type='same'`` and expect
  mean = std = 0.5 (``IMAGENET_INCEPTION_*``); crop_pct 0.875 unless the
  tag says otherwise; resize ``floor(224 / crop_pct)``.
* mmpretrain ``configs/mobilenet_v3``: BN eps 1e-3, momentum 0.01 (the
  backbone default) for large/small; eps 1e-5, momentum 0.1 for
  small_050/075 (ported from timm); test resize 256 (pillow), crop 224,
  bilinear (bicubic for small_050/075).
* mmseg ``configs/_base_/models/lraspp_m-v3-d8.py``: BN eps 1e-3, output
  stride 8, ``Conv2dAdaptivePadding`` ('SAME') for every stride-2 conv.
"""
import math
import os.path as osp
import re
from typing import NamedTuple, Optional, Tuple

from mbv3.utils.checkpoint import CHECKPOINT_EXTENSIONS

# In 0..255 pixel units, RGB.
IMAGENET = ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375))
INCEPTION = ((127.5, 127.5, 127.5), (127.5, 127.5, 127.5))  # 0.5 * 255
UNIT = ((0.0, 0.0, 0.0), (255.0, 255.0, 255.0))  # timm mean 0, std 1
CROP = 224


class Preprocess(NamedTuple):
    """Test-time preprocessing: resize the short edge to ``resize``
    pixels with ``interpolation``, center-crop ``crop``, then normalise
    with ``mean``/``std`` (0..255 units, RGB). ``resize``/``crop`` are
    None for a backbone trained on other inputs (mmseg)."""
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]
    interpolation: str
    resize: Optional[int]
    crop: Optional[int]

    def to_dict(self) -> dict:
        out = self._asdict()
        out['mean'], out['std'] = list(self.mean), list(self.std)
        out['crop_pct'] = self.crop / self.resize if self.resize else None
        return out


class Numerics(NamedTuple):
    """Backbone options a family's weights need."""
    eps: float
    momentum: float
    same_padding: bool = False
    output_stride: int = 32


def _timm_preprocess(stats, interpolation, crop_pct=0.875):
    return Preprocess(*stats, interpolation, math.floor(CROP / crop_pct),
                      CROP)


# timm default_cfgs, by pretrained tag of the non-tf_ models.
TIMM_TAGS = {
    'ra_in1k': _timm_preprocess(IMAGENET, 'bicubic'),
    'ra4_e3600_r224_in1k': _timm_preprocess(INCEPTION, 'bicubic', 0.95),
    'miil_in21k_ft_in1k': _timm_preprocess(UNIT, 'bilinear'),
    'miil_in21k': _timm_preprocess(UNIT, 'bilinear'),
    'lamb_in1k': _timm_preprocess(IMAGENET, 'bicubic'),
}
TIMM_DEFAULT = _timm_preprocess(IMAGENET, 'bilinear')
TIMM_TF = _timm_preprocess(INCEPTION, 'bilinear')
# Release file names (without extension) of timm's GitHub-hosted weights.
TIMM_FILES = {
    'mobilenetv3_large_100_ra-f55367f5': 'mobilenetv3_large_100.ra_in1k',
    'mobilenetv3_large_100_1k_miil_78_0-66471c13':
        'mobilenetv3_large_100.miil_in21k_ft_in1k',
    'mobilenetv3_large_100_in21k_miil-d71cc17b':
        'mobilenetv3_large_100.miil_in21k',
    'mobilenetv3_small_050_lambc-4b7bbe87': 'mobilenetv3_small_050.lamb_in1k',
    'mobilenetv3_small_075_lambc-384766db': 'mobilenetv3_small_075.lamb_in1k',
    'mobilenetv3_small_100_lamb-266a294c': 'mobilenetv3_small_100.lamb_in1k',
}
_TIMM_NAME = re.compile(
    r'(tf_)?mobilenetv3_(large|small)(_minimal)?_\d{3}(\.[a-z0-9_]+)?')

TORCHVISION = Preprocess(*IMAGENET, 'bilinear', 256, CROP)
TORCHVISION_LARGE_V2 = Preprocess(*IMAGENET, 'bilinear', 232, CROP)
TORCHVISION_V2_FILES = ('mobilenet_v3_large-5c1a4163', )


def _strip_extension(path):
    root, ext = osp.splitext(path)
    return root if ext in CHECKPOINT_EXTENSIONS else path


def timm_name(hint: Optional[str]) -> Optional[str]:
    """The timm model name (with its pretrained tag when known) in a
    ``--weights`` value or a file path, e.g. ``tf_mobilenetv3_large_100``
    from ``.../models--timm--tf_mobilenetv3_large_100.in1k/.../model.bin``.
    """
    if not hint:
        return None
    stem = _strip_extension(osp.basename(hint))
    if stem in TIMM_FILES:
        return TIMM_FILES[stem]
    m = _TIMM_NAME.search(_strip_extension(hint))
    return m[0] if m else None


def numerics(source: str, arch: str, name: Optional[str]) -> Numerics:
    """Backbone numerics of a family (see the module docstring)."""
    if source == 'torchvision':
        return Numerics(1e-3, 0.01)
    if source == 'timm':
        if name and name.startswith('tf_'):
            return Numerics(1e-3, 0.1, same_padding=True)
        return Numerics(1e-5, 0.1)
    if source == 'mmseg':
        return Numerics(1e-3, 0.1, same_padding=True, output_stride=8)
    if arch in ('small_050', 'small_075'):
        return Numerics(1e-5, 0.1)
    return Numerics(1e-3, 0.01)


def preprocess(source: str, arch: str, name: Optional[str],
               hint: Optional[str]) -> Preprocess:
    """Test-time preprocessing of a family's weights."""
    stem = _strip_extension(osp.basename(hint or ''))
    if source == 'torchvision':
        v2 = stem in TORCHVISION_V2_FILES or 'IMAGENET1K_V2' in (hint or '')
        return TORCHVISION_LARGE_V2 if v2 else TORCHVISION
    if source == 'timm':
        if name and name.startswith('tf_'):
            return TIMM_TF
        tag = name.partition('.')[2] if name else ''
        return TIMM_TAGS.get(tag, TIMM_DEFAULT)
    if source == 'mmseg':
        return Preprocess(*IMAGENET, 'bilinear', None, None)
    bicubic = arch in ('small_050', 'small_075')
    return Preprocess(*IMAGENET, 'bicubic' if bicubic else 'bilinear', 256,
                      CROP)
