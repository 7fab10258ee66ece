"""Packaging for mbv3.

The ``mmcv`` import comes from ``mmcv-lite``, a runtime requirement pinned
below 2.2: mmcv-lite 2.1.0 ships the same Python files as the full mmcv
2.1.0 that mmdet 3.3 and mmseg 1.2 need (only the compiled ``mmcv._ext``
differs; checked file by file against ../shared/wheels), so installing mbv3
beside that full build rewrites identical files and keeps its ops, and
both frameworks' ``mmcv<2.2.0`` assertion holds.
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
    # the transforms and their registry; see the module docstring for the pin
    'mmcv-lite>=2.0.0,<2.2.0',
]
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
# PyTorch int8 (mbv3.models.quantization, QATHook): PT2E quantization with
# torchao's X86InductorQuantizer. torchao 0.18.0 installs beside torch
# 2.14.1 with no dependencies of its own (a 3.4 MB wheel, 3 s); the 0.18
# series is the one ExecuTorch 1.5.1 takes.
INT8 = ['torchao>=0.18,<0.19']
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
        # the full mmcv that mmdet 3.3 and mmseg 1.2 accept
        'full': ['mmcv>=2.0.0rc4,<2.2.0'],
        'train': TRAIN,
        'deploy': DEPLOY,
        'int8': INT8,
        'dev': TESTS + DEPLOY + INT8,
    },
)
