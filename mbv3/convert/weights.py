"""The published MobileNetV3 checkpoints mbv3 converts, by name.

Each entry names its file (URL and hash), its family and arch, and the
accuracy its source publishes. The model options and the preprocessing
follow from the family (:mod:`mbv3.convert.presets`), as for any file the
converter reads. ``tests/test_convert/test_weights.py`` checks every URL,
hash and preprocessing against the metadata the installed torchvision,
timm and mmpretrain ship.

Sources:

* torchvision 0.29 ``MobileNet_V3_{Large,Small}_Weights``: ``url`` and
  ``meta['_metrics']['ImageNet-1K']['acc@1']``.
* timm 1.0 pretrained cfgs (``timm.models.get_pretrained_cfg``): ``url``,
  or ``hf_hub_id`` for weights only on the Hugging Face hub; top-1 from
  timm's ``results/results-imagenet.csv`` (huggingface/pytorch-image-models
  commit 0173a139) and, for ``ra4_e3600_r224_in1k``, timm's README release
  notes (Dec 2024: 76.31 @ 224).
* mmpretrain 1.2 ``configs/mobilenet_v3/metafile.yml`` (shipped in the
  package under ``.mim``): ``Weights`` and ``Top 1 Accuracy``.
* mmseg (not a dependency): ``configs/mobilenet_v3/metafile.yaml`` of
  open-mmlab/mmsegmentation (commit ce0e7d37): ``Weights`` and Cityscapes
  ``mIoU``.

Hashes: torchvision, timm's GitHub releases, mmpretrain and mmseg name
their files ``<stem>-<first 8 hex digits of the sha256>.pth`` (the
convention ``torch.hub`` checks); that prefix, 32 bits, is all they
publish, and a file that matches it can be forged in minutes. For those,
:mod:`mbv3.convert.hub` records the full sha256 of the first download that
matches the prefix and holds every later download to it (trust on first
use). The Hugging Face file is pinned to a revision, with the full sha256
of that file (the hub's Git LFS object id) as a third-party manifest
records it. :func:`pinning` says which is which.
"""
import os.path as osp
from typing import Dict, NamedTuple, Optional, Tuple

from . import presets

TV_URL = 'https://download.pytorch.org/models/'
TIMM_URL = ('https://github.com/rwightman/pytorch-image-models/releases/'
            'download/')
MMPRETRAIN_URL = ('https://download.openmmlab.com/mmclassification/v0/'
                  'mobilenet_v3/')
MMSEG_URL = 'https://download.openmmlab.com/mmsegmentation/v0.5/mobilenet_v3/'
HF_URL = 'https://huggingface.co/{repo}/resolve/{revision}/model.safetensors'

TV_CITE = 'torchvision 0.29 {}: url, meta["_metrics"]'
TIMM_CITE = ('URL: timm 1.0 pretrained cfg; top-1: timm '
             'results/results-imagenet.csv '
             '(huggingface/pytorch-image-models@0173a139)')
TIMM_IN21K_CITE = ('URL: timm 1.0 pretrained cfg; ImageNet-21k-P '
                   'pretraining (11221 classes), no ImageNet-1k top-1')
MMPRETRAIN_CITE = 'mmpretrain 1.2 configs/mobilenet_v3/metafile.yml'
MMSEG_CITE = ('mmsegmentation configs/mobilenet_v3/metafile.yaml '
              '(open-mmlab/mmsegmentation@ce0e7d37)')
IN1K_TOP1 = 'ImageNet-1k top-1'
CITYSCAPES_MIOU = 'Cityscapes val mIoU'


class Weights(NamedTuple):
    """One published checkpoint.

    Attributes:
        name (str): What mbv3 calls it: the source's own name (timm's
            ``model.tag``, mmpretrain's and mmseg's model-index names), or
            ``mobilenet_v3_{large,small}.tv_in1k[_v2]`` for torchvision.
        source (str): Its family, one of :data:`mbv3.convert.SOURCES`.
        arch (str): The mbv3 arch its weights fit.
        url (str): Where the source publishes the file.
        sha256 (str): The expected sha256: a hex prefix (from the file
            name) or the full 64 digits.
        metric (tuple[str, float] | None): What the source reports, e.g.
            ``('ImageNet-1k top-1', 75.274)``, in percent; None when it reports
            nothing comparable (ImageNet-21k pretraining).
        citation (str): Where ``url`` and ``metric`` are published.
    """
    name: str
    source: str
    arch: str
    url: str
    sha256: str
    metric: Optional[Tuple[str, float]]
    citation: str

    @property
    def filename(self) -> str:
        """The file name the download is stored under."""
        return osp.basename(self.url)

    @property
    def hint(self) -> str:
        """What tells the converter the weights' variant: the timm model
        name, or the file name (torchvision's V2 weights)."""
        return self.name if self.source == 'timm' else self.filename

    @property
    def numerics(self) -> presets.Numerics:
        """BN eps/momentum, padding and output stride the weights need."""
        return presets.numerics(self.source, self.arch, self._timm_name)

    @property
    def preprocess(self) -> presets.Preprocess:
        """The test-time preprocessing the weights were evaluated with."""
        return presets.preprocess(self.source, self.arch, self._timm_name,
                                  self.hint)

    @property
    def _timm_name(self):
        return self.name if self.source == 'timm' else None


def _tv(name, enum, file, arch, top1):
    return Weights(name, 'torchvision', arch, TV_URL + file,
                   _file_hash(file), (IN1K_TOP1, top1), TV_CITE.format(enum))


def _timm(name, release_file, arch, top1):
    if top1 is None:
        return Weights(name, 'timm', arch, TIMM_URL + release_file,
                       _file_hash(release_file), None, TIMM_IN21K_CITE)
    return Weights(name, 'timm', arch, TIMM_URL + release_file,
                   _file_hash(release_file), (IN1K_TOP1, top1), TIMM_CITE)


def _mmpretrain(name, path, arch, top1):
    return Weights(name, 'mmpretrain', arch, MMPRETRAIN_URL + path,
                   _file_hash(path), (IN1K_TOP1, top1), MMPRETRAIN_CITE)


def _mmseg(name, path, arch, miou):
    return Weights(name, 'mmseg', arch, MMSEG_URL + path, _file_hash(path),
                   (CITYSCAPES_MIOU, miou), MMSEG_CITE)


def _file_hash(path: str) -> str:
    """The sha256 prefix in a published file name, ``stem-<hex>.pth``."""
    return osp.splitext(osp.basename(path))[0].rsplit('-', 1)[1]


_ENTRIES = (
    _tv('mobilenet_v3_large.tv_in1k', 'MobileNet_V3_Large_Weights.'
        'IMAGENET1K_V1', 'mobilenet_v3_large-8738ca79.pth', 'large', 74.042),
    _tv('mobilenet_v3_large.tv_in1k_v2', 'MobileNet_V3_Large_Weights.'
        'IMAGENET1K_V2', 'mobilenet_v3_large-5c1a4163.pth', 'large', 75.274),
    _tv('mobilenet_v3_small.tv_in1k', 'MobileNet_V3_Small_Weights.'
        'IMAGENET1K_V1', 'mobilenet_v3_small-047dcff4.pth', 'small', 67.668),
    _timm('mobilenetv3_large_100.ra_in1k',
          'v0.1-weights/mobilenetv3_large_100_ra-f55367f5.pth', 'large',
          75.766),
    Weights('mobilenetv3_large_100.ra4_e3600_r224_in1k', 'timm', 'large',
            HF_URL.format(
                repo='timm/mobilenetv3_large_100.ra4_e3600_r224_in1k',
                revision='26a545b7c557e54fa13caff7e76da391f6bcbc1a'),
            'bd595a2d59301fc6264c4aabb203f93ec17b0aa7bdd7532c8d9e1cf07dfc9bdc',
            (IN1K_TOP1, 76.31),
            'URL: timm 1.0 pretrained cfg (hf_hub_id); top-1: timm README, '
            'Dec 2024 release notes (76.31 @ 224); sha256: as a third-party '
            'manifest pins this revision, not checked against the hub'),
    _timm('mobilenetv3_large_100.miil_in21k_ft_in1k',
          'v0.1-tresnet/mobilenetv3_large_100_1k_miil_78_0-66471c13.pth',
          'large', 77.918),
    _timm('mobilenetv3_large_100.miil_in21k',
          'v0.1-tresnet/mobilenetv3_large_100_in21k_miil-d71cc17b.pth',
          'large', None),
    _timm('mobilenetv3_small_050.lamb_in1k',
          'v0.1-weights/mobilenetv3_small_050_lambc-4b7bbe87.pth',
          'small_050', 57.910),
    _timm('mobilenetv3_small_075.lamb_in1k',
          'v0.1-weights/mobilenetv3_small_075_lambc-384766db.pth',
          'small_075', 65.234),
    _timm('mobilenetv3_small_100.lamb_in1k',
          'v0.1-weights/mobilenetv3_small_100_lamb-266a294c.pth', 'small',
          67.656),
    _timm('tf_mobilenetv3_large_100.in1k',
          'v0.1-weights/tf_mobilenetv3_large_100-427764d5.pth', 'large',
          75.516),
    _timm('tf_mobilenetv3_large_075.in1k',
          'v0.1-weights/tf_mobilenetv3_large_075-150ee8b0.pth', 'large_075',
          73.432),
    _timm('tf_mobilenetv3_large_minimal_100.in1k',
          'v0.1-weights/tf_mobilenetv3_large_minimal_100-8596ae28.pth',
          'large_minimal', 72.258),
    _timm('tf_mobilenetv3_small_075.in1k',
          'v0.1-weights/tf_mobilenetv3_small_075-da427f52.pth', 'small_075',
          65.728),
    _timm('tf_mobilenetv3_small_100.in1k',
          'v0.1-weights/tf_mobilenetv3_small_100-37f49e2b.pth', 'small',
          67.918),
    _timm('tf_mobilenetv3_small_minimal_100.in1k',
          'v0.1-weights/tf_mobilenetv3_small_minimal_100-922a7843.pth',
          'small_minimal', 62.890),
    _mmpretrain('mobilenet-v3-small-050_3rdparty_in1k',
                'mobilenet-v3-small-050_3rdparty_in1k_20221114-e0b86be1.pth',
                'small_050', 57.91),
    _mmpretrain('mobilenet-v3-small-075_3rdparty_in1k',
                'mobilenet-v3-small-075_3rdparty_in1k_20221114-2011fa76.pth',
                'small_075', 65.23),
    _mmpretrain('mobilenet-v3-small_8xb128_in1k',
                'mobilenet-v3-small_8xb128_in1k_20221114-bd1bfcde.pth',
                'small', 66.68),
    _mmpretrain('mobilenet-v3-small_3rdparty_in1k',
                'convert/mobilenet_v3_small-8427ecf0.pth', 'small', 67.66),
    _mmpretrain('mobilenet-v3-large_8xb128_in1k',
                'mobilenet-v3-large_8xb128_in1k_20221114-0ed9ed9a.pth',
                'large', 73.49),
    _mmpretrain('mobilenet-v3-large_3rdparty_in1k',
                'convert/mobilenet_v3_large-3ea3c186.pth', 'large', 74.04),
    _mmseg('mobilenet-v3-d8_lraspp_4xb4-320k_cityscapes-512x1024',
           'lraspp_m-v3-d8_512x1024_320k_cityscapes/lraspp_m-v3-d8_512x1024'
           '_320k_cityscapes_20201224_220337-cfe8fb07.pth', 'large', 69.54),
    _mmseg('mobilenet-v3-d8-scratch_lraspp_4xb4-320k_cityscapes-512x1024',
           'lraspp_m-v3-d8_scratch_512x1024_320k_cityscapes/lraspp_m-v3-d8_'
           'scratch_512x1024_320k_cityscapes_20201224_220337-9f29cd72.pth',
           'large', 67.87),
    _mmseg('mobilenet-v3-d8-s_lraspp_4xb4-320k_cityscapes-512x1024',
           'lraspp_m-v3s-d8_512x1024_320k_cityscapes/lraspp_m-v3s-d8_512x1024'
           '_320k_cityscapes_20201224_223935-61565b34.pth', 'small', 64.11),
    _mmseg('mobilenet-v3-d8-scratch-s_lraspp_4xb4-320k_cityscapes-512x1024',
           'lraspp_m-v3s-d8_scratch_512x1024_320k_cityscapes/lraspp_m-v3s-d8_'
           'scratch_512x1024_320k_cityscapes_20201224_223935-03daeabb.pth',
           'small', 62.74),
)
WEIGHTS: Dict[str, Weights] = {w.name: w for w in _ENTRIES}

def get_weights(name: str) -> Weights:
    """The registry entry called ``name``.

    Raises:
        ValueError: If no entry has that name (the message lists them).
    """
    if name not in WEIGHTS:
        raise ValueError(f'unknown weights {name!r}; known: '
                         f'{", ".join(sorted(WEIGHTS))} (tools/weights.py '
                         'list describes them)')
    return WEIGHTS[name]


def pinning(weights: Weights) -> str:
    """How the file of ``weights`` is pinned: ``'full sha256'`` (published)
    or ``'sha256 prefix + first download'`` (8 hex digits from the file
    name, then the full sha256 recorded at the first download)."""
    if len(weights.sha256) == 64:
        return 'full sha256'
    return 'sha256 prefix + first download'


def format_weights(entries=None, pins=None) -> str:
    """A Markdown table, one row per entry (all of :data:`WEIGHTS` by
    default): name, family, arch, published accuracy and its citation.

    Args:
        entries (Iterable[Weights], optional): The rows.
        pins (dict, optional): Name -> how its file is pinned; given, it
            becomes the last column, ``sha256``.
    """
    header = '| name | family | arch | published | source |'
    rule = '|---|---|---|---|---|'
    if pins is not None:
        header, rule = header + ' sha256 |', rule + '---|'
    lines = [header, rule]
    for w in entries or WEIGHTS.values():
        metric = f'{w.metric[1]:g}% {w.metric[0]}' if w.metric else '-'
        pin = f' {pins[w.name]} |' if pins is not None else ''
        lines.append(f'| `{w.name}` | {w.source} | {w.arch} | {metric} | '
                     f'{w.citation} |{pin}')
    return '\n'.join(lines)
