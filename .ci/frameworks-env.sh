#!/usr/bin/env bash
# The frameworks environment: mbv3 inside mmpretrain 1.2, mmdet 3.3 and
# mmseg 1.2, for `pytest -m frameworks tests/integration`.
#
# mmdet 3.3.0 and mmsegmentation 1.2.2 import mmcv's compiled ops and assert
# mmcv < 2.2.0, so they cannot share the development environment's
# mmcv-lite 2.2.0. This venv sees that environment's packages (torch,
# torchvision, mmengine, mmpretrain: nothing is downloaded twice) and puts
# the full mmcv 2.1.0 wheel from ../shared/wheels over its mmcv-lite; the
# development environment is not changed.
#
# Usage (from anywhere; it works in the repository root):
#   .ci/frameworks-env.sh      # builds (or updates) .ci/venv-frameworks
#   .ci/venv-frameworks/bin/python -m pytest -m frameworks tests/integration
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.ci/venv-frameworks
WHEEL=../shared/wheels/mmcv-2.1.0-cp311-cp311-linux_x86_64.whl
WHEEL_SHA256=69b006f1da5052a22f44a40c3a8e1def3cc836998640d62f46b300d4c8220c76

echo "$WHEEL_SHA256  $WHEEL" | sha256sum --check --quiet
python -m venv --system-site-packages "$VENV"
PIP=("$VENV/bin/python" -m pip install --quiet --no-deps)
"${PIP[@]}" "$WHEEL"
# --no-deps: their requirements would replace mmcv and torch; the
# pure-Python packages they import are listed instead. setuptools 80 keeps
# pkg_resources (gone from the development environment's setuptools),
# which mmengine 0.10.7 needs to resolve `_base_ = 'mmdet::...'` in the
# frameworks' tools, and satisfies torch's setuptools>=77.
"${PIP[@]}" mmpretrain==1.2.0 mmdet==3.3.0 mmsegmentation==1.2.2 \
    pycocotools==2.0.11 shapely==2.2.0 terminaltables==3.1.10 \
    ftfy==6.3.1 prettytable==3.18.0 setuptools==80.10.2
"${PIP[@]}" -e .
"$VENV/bin/python" - <<'PY'
import mmcv
import mmdet.models  # noqa: F401
import mmpretrain.models  # noqa: F401
import mmseg.models  # noqa: F401
import pkg_resources  # noqa: F401
import torch
from mmcv.ops import nms  # noqa: F401
import mmdet
import mmpretrain
import mmseg

print('frameworks env: torch', torch.__version__, 'mmcv', mmcv.__version__,
      'mmpretrain', mmpretrain.__version__, 'mmdet', mmdet.__version__,
      'mmseg', mmseg.__version__)
PY
