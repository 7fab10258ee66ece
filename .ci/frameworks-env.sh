#!/usr/bin/env bash
# The frameworks environment: mbv3 inside mmpretrain 1.2, mmdet 3.3 and
# mmseg 1.2, for `pytest -m frameworks tests/integration`.
#
# mmdet 3.3.0 and mmsegmentation 1.2.2 import mmcv's compiled ops and assert
# mmcv < 2.2.0; the development environment's mmcv-lite 2.1.0 has no
# compiled ops. This venv sees the packages of the environment whose
# `python` runs this script (torch, mmengine, ...: nothing is downloaded
# twice), whether that is the base interpreter or a virtualenv: a .pth file
# adds that interpreter's site-packages after the venv's own (a
# --system-site-packages venv would see only the base interpreter's). The
# venv's own full mmcv 2.1.0 wheel from ../shared/wheels comes first, over
# the mmcv-lite there; the invoking environment is not changed.
#
# Usage (from anywhere; it works in the repository root), with the python
# of the environment mbv3 is installed in first on PATH:
#   .ci/frameworks-env.sh      # builds (or updates) .ci/venv-frameworks
#   .ci/venv-frameworks/bin/python -m pytest -m frameworks tests/integration
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.ci/venv-frameworks
WHEEL=../shared/wheels/mmcv-2.1.0-cp311-cp311-linux_x86_64.whl
WHEEL_SHA256=69b006f1da5052a22f44a40c3a8e1def3cc836998640d62f46b300d4c8220c76

echo "$WHEEL_SHA256  $WHEEL" | sha256sum --check --quiet
python -m venv "$VENV"
# every site-packages folder of the invoking interpreter, .pth files
# included (site.addsitedir), after the venv's own
python - "$VENV" <<'PY'
import os.path as osp
import subprocess
import sys

own = subprocess.run([osp.join(sys.argv[1], 'bin', 'python'), '-c',
                      'import sysconfig; print(sysconfig.get_path("purelib"))'],
                     capture_output=True, text=True, check=True).stdout.strip()
parents = [p for p in sys.path if osp.basename(p) in ('site-packages',
                                                       'dist-packages')
           and osp.isdir(p) and p != own]
with open(osp.join(own, 'mbv3_invoking_env.pth'), 'w') as f:
    f.writelines(f'import site; site.addsitedir({p!r})\n' for p in parents)
print('frameworks env: sees', ', '.join(parents))
PY
PIP=("$VENV/bin/python" -m pip install --quiet --no-deps)
"${PIP[@]}" "$WHEEL"
# --no-deps: the frameworks' requirements would replace mmcv and torch. The
# pure-Python packages they import are listed instead, and installed with
# their own dependencies (those the invoking environment has are kept).
# setuptools 80 keeps pkg_resources (gone from the development
# environment's setuptools), which mmengine 0.10.7 needs to resolve
# `_base_ = 'mmdet::...'` in the frameworks' tools, and satisfies torch's
# setuptools>=77.
"${PIP[@]}" mmpretrain==1.2.0 mmdet==3.3.0 mmsegmentation==1.2.2
"$VENV/bin/python" -m pip install --quiet --quiet \
    pycocotools==2.0.11 shapely==2.2.0 terminaltables==3.1.10 ftfy==6.3.1 \
    prettytable==3.18.0 six==1.17.0 regex==2026.5.9 setuptools==80.10.2
# mbv3 requires mmcv-lite 2.1.0, whose Python files are the full wheel's:
# installed over it, as pip does for a user with a full mmcv (the invoking
# environment's copy would otherwise satisfy the requirement), it must keep
# the compiled ops that the check below imports.
"${PIP[@]}" --force-reinstall "mmcv-lite==2.1.0"
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
