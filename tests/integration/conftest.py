"""What the frameworks tests share: mbv3 inside mmpretrain, mmdet and mmseg,
run with their own config files, builders, runners and tools.

They run in the environment ``.ci/frameworks-env.sh`` builds (the full
mmcv 2.1 that mmdet 3.3 and mmseg 1.2 need):
``.ci/venv-frameworks/bin/python -m pytest -m frameworks tests/integration``.
Elsewhere they skip with the reason; with ``MBV3_REQUIRE_FRAMEWORKS=1``
(``.ci/run`` sets it) a missing framework is an error instead, so CI cannot
pass by skipping them.
"""
import importlib
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.conftest import REPO, load_docs_checker

FRAMEWORKS = ('mmpretrain.models', 'mmdet.models', 'mmseg.models')


def require_frameworks():
    """Skip the calling test module unless mmpretrain, mmdet and mmseg
    import (mmdet and mmseg assert mmcv < 2.2.0 and need its compiled ops,
    so they fail next to mmcv-lite, which has none)."""
    for name in FRAMEWORKS:
        try:
            importlib.import_module(name)
        except Exception as err:  # ImportError, or mmdet's mmcv assertion
            reason = (f'import {name} failed ({type(err).__name__}: {err}); '
                      'the frameworks tests need mmpretrain 1.2, mmdet 3.3 '
                      'and mmseg 1.2 on the full mmcv 2.1: '
                      '.ci/frameworks-env.sh builds that environment')
            if os.environ.get('MBV3_REQUIRE_FRAMEWORKS') == '1':
                raise RuntimeError(reason) from err
            pytest.skip(reason, allow_module_level=True)


def doc_snippet(path, needle):
    """The one Python block of a docs page (or README.md) that contains
    ``needle``, exactly as the page prints it."""
    checker = load_docs_checker()
    with open(osp.join(REPO, path), encoding='utf-8') as f:
        blocks = checker.parse_blocks(f.read(), path)
    found = [b.code for b in blocks if b.lang == 'python' and needle in b.code]
    assert len(found) == 1, (
        f'{path}: {len(found)} Python blocks contain {needle!r}, expected 1')
    return found[0]


def write_config(folder, snippet, overrides=''):
    """Write the docs snippet as ``snippet.py`` and, on top of it,
    ``config.py`` with ``overrides`` (the tiny data set and schedule);
    return the path of ``config.py``."""
    with open(osp.join(folder, 'snippet.py'), 'w') as f:
        f.write(snippet)
    path = osp.join(folder, 'config.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = './snippet.py'\n{overrides}")
    return path


def run_framework_tool(package, script, *args, cwd):
    """Run ``<package>/.mim/tools/<script>`` (the framework's own
    ``tools/train.py``/``test.py``) with this checkout's mbv3 first; return
    its output, failing with the output's end when it exits non-zero."""
    module = importlib.import_module(package)
    tool = osp.join(osp.dirname(module.__file__), '.mim', 'tools', script)
    pythonpath = os.pathsep.join(
        p for p in (REPO, os.environ.get('PYTHONPATH')) if p)
    result = subprocess.run(
        [sys.executable, tool, *args], cwd=cwd, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=pythonpath, OMP_NUM_THREADS='1'))
    output = result.stdout
    assert result.returncode == 0, (
        f'{package} {script} exited {result.returncode}:\n{output[-4000:]}')
    return output


def last_metric(output, name):
    """The last ``name: value`` an mmengine log printed, as a float."""
    values = re.findall(rf'{re.escape(name)}: (-?[\d.]+)', output)
    assert values, f'{name} not in the output:\n{output[-3000:]}'
    return float(values[-1])


def framework_config(package, rel):
    """The path of a config file shipped inside an installed framework."""
    module = importlib.import_module(package)
    return osp.join(osp.dirname(module.__file__), '.mim', 'configs', rel)


def randomize(model, x, seed=0):
    """Seeded random weights: torchvision's He init of the convs, random BN
    affine parameters, and BN statistics measured on ``x`` (so that the
    deep features keep their spatial detail and equal outputs mean equal
    layers)."""
    gen = torch.Generator().manual_seed(seed)
    norms = [m for m in model.modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for conv in model.modules():
            if isinstance(conv, torch.nn.Conv2d):
                fan_out = conv.out_channels * conv.weight[0, 0].numel()
                conv.weight.copy_(torch.randn(
                    conv.weight.shape, generator=gen) * (2 / fan_out)**0.5)
        for norm in norms:
            norm.weight.copy_(torch.rand(norm.num_features, generator=gen) +
                              0.5)
            norm.bias.copy_(torch.randn(norm.num_features, generator=gen) *
                            0.1)
            norm.reset_running_stats()
            norm.momentum = None  # running stats = the batch's
        model.train()
        model(x)
    for norm in norms:
        norm.momentum = 0.1
    model.eval()


def photo(name, width):
    """A scikit-image photo as an RGB uint8 array ``width`` pixels wide."""
    from skimage import data
    from skimage.transform import resize
    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    height = round(image.shape[0] * width / image.shape[1])
    return (resize(image, (height, width), anti_aliasing=True) *
            255).round().astype(np.uint8)


def save_png(array, path):
    from PIL import Image
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


# Boxes drawn by hand on scikit-image's photos, as fractions of the width
# and height (x1, y1, x2, y2): the cat of `chelsea`, the astronaut.
COCO_PHOTOS = (('chelsea', 'cat', (0.12, 0.05, 0.95, 1.0)),
               ('astronaut', 'person', (0.0, 0.0, 0.9, 1.0)))


def coco_set(root, width=128):
    """Two photos with their boxes in COCO's format:
    ``root/images/<name>.png`` and ``root/ann.json``, categories named and
    numbered like COCO's 80 classes (mmdet's CocoDataset keeps those)."""
    from mmdet.datasets import CocoDataset
    classes = CocoDataset.METAINFO['classes']
    images, annotations = [], []
    for k, (name, label, box) in enumerate(COCO_PHOTOS, start=1):
        image = photo(name, width)
        save_png(image, osp.join(root, 'images', f'{name}.png'))
        h, w = image.shape[:2]
        x1, y1, x2, y2 = box[0] * w, box[1] * h, box[2] * w, box[3] * h
        images.append(dict(id=k, file_name=f'{name}.png', height=h, width=w))
        annotations.append(dict(
            id=k, image_id=k, category_id=classes.index(label) + 1,
            bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1),
            iscrowd=0))
    categories = [dict(id=i + 1, name=c) for i, c in enumerate(classes)]
    with open(osp.join(root, 'ann.json'), 'w') as f:
        json.dump(dict(images=images, annotations=annotations,
                       categories=categories), f)
    return root
