"""Packaging for mbv3.

The ``mmcv`` import is provided either by the pure-Python ``mmcv-lite``
(the ``lite`` extra, also pulled in by ``dev``) or by a full ``mmcv`` build
that mmdet/mmseg users already have. Both distributions ship the same
``mmcv`` package, so the runtime requirements name neither: installing mbv3
next to a full mmcv never puts a second copy over it. pip takes
``mmcv-lite`` for another project than ``mmcv``, so the ``lite`` and ``dev``
extras would write mmcv-lite 2.2 over a full mmcv 2.1: with a full mmcv,
install without them (or with ``full``).
"""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r"__version__ = '([^']+)'",
                    (HERE / 'mbv3' / 'version.py').read_text()).group(1)

RUNTIME = [
    # torch.serialization.safe_globals, torch.onnx.export(dynamo=False):
    # mbv3/version.py MIN_TORCH, checked when mbv3 is imported
    'torch>=2.5',
    'mmengine>=0.10.4,<1',
    'numpy',
    'pillow',
    # curves, confusion matrices, feature maps (the digits recipe plots its
    # curves at the end of training)
    'matplotlib',
    # reading and writing converted .safetensors checkpoints
    'safetensors',
    # one process at a time downloads and converts published weights
    # (mbv3.convert.hub; torch requires it too)
    'filelock',
    # the digits data set of the main job (tools/train.py on the digits
    # recipe) and the stratified val split of a folder without val/
    'scikit-learn',
]
LITE = ['mmcv-lite>=2.0']
TESTS = [
    'pytest',
    'hypothesis',
    # torchvision 0.29.1 pins torch 2.14.1, the pair that imports together on
    # the CPU machines this project is tested on; newer pairs are fine too.
    'torchvision>=0.29.1',
    'timm>=1.0',
    'mmpretrain>=1.2',
    'tensorboard',
]
# Every export tool: ONNX (torch.onnx.export needs onnxscript, the check
# against eager runs onnxruntime), OpenVINO fp32 IR and NNCF int8, and the
# real photos the exports are checked on (scikit-image's bundled images).
# openvino and nncf install beside torch 2.14.1 and numpy 2.4 without
# changing them (openvino 2026.4.1, nncf 3.4.0 checked). ExecuTorch is not
# an extra: its wheel's full dependency list pulls in much more, so it is
# installed by hand with --no-deps (docs/deployment.md); its tests skip
# without it.
DEPLOY = ['onnx', 'onnxruntime', 'onnxscript', 'scikit-image',
          'openvino>=2025.0', 'nncf>=2.15']
# What the ImageNet recipes and training extras import when built:
# AutoAugment/RandomErasing (torchvision.transforms.v2), --tensorboard; the
# texture and segmentation recipes cut scikit-image's bundled photos.
TRAIN = ['torchvision>=0.16', 'tensorboard', 'scikit-image']

# The console scripts; each runs mbv3.cli.COMMANDS[name].main
COMMANDS = re.findall(r"'(mbv3-[\w-]+)': '\w+'",
                      (HERE / 'mbv3' / 'cli' / '__init__.py').read_text())

setup(
    name='mbv3',
    version=VERSION,
    description='MobileNetV3 backbones for PyTorch and OpenMMLab',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(include=['mbv3', 'mbv3.*']),
    include_package_data=True,
    # mbv3/configs links to configs/ (the source of truth); the wheel holds
    # a copy, so `mbv3-train mobilenet_v3/...` finds configs from any folder
    package_data={'mbv3': ['configs/**/*.py']},
    entry_points={'console_scripts': [
        f'{name} = mbv3.cli:console' for name in COMMANDS]},
    install_requires=RUNTIME,
    extras_require={
        'lite': LITE,
        # the full mmcv that mmdet 3.3 and mmseg 1.2 accept
        'full': ['mmcv>=2.0.0rc4,<2.2.0'],
        'train': TRAIN,
        'deploy': DEPLOY,
        'dev': LITE + TESTS + DEPLOY,
    },
)
