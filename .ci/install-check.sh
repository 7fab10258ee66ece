#!/usr/bin/env bash
# The installs of each journey, checked in one fresh venv, in order:
#   1. `pip install -e .`: the main job runs (one epoch:
#      --cfg-options train_cfg.max_epochs=1);
#   2. `pip install -e ".[deploy]"`: the ONNX and OpenVINO exports of the
#      digits model run, each checked against PyTorch on real photos (the
#      config's initial weights: a one-epoch checkpoint's large logits
#      miss the exports' absolute 1e-4 tolerance, also with [dev]);
#   3. `pip install -e ".[dev]"`, then .ci/frameworks-env.sh run by the
#      venv's python builds the frameworks environment over it.
# The venv installs torch again (from pip's local wheels: minutes, ~5.5 GB).
# Commands run from a scratch folder, so the checkout gets no data or work
# dirs.
#
# Usage: .ci/install-check.sh [VENV]   (default .ci/venv-user)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
VENV=${1:-.ci/venv-user}
PY=$REPO/$VENV/bin/python
CONFIG=$REPO/configs/mobilenet_v3/mobilenet-v3-small_digits.py
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

step() {
    echo "install check: $1 (at $((SECONDS)) s)"
}

step "fresh venv $VENV, pip install -e ."
python -m venv --clear "$VENV"
"$PY" -m pip install --quiet --quiet -e .
cd "$SCRATCH"
step 'the main job for one epoch'
"$PY" "$REPO/tools/train.py" "$CONFIG" --work-dir work \
    --cfg-options train_cfg.max_epochs=1
test -f work/epoch_1.pth

step 'pip install -e ".[deploy]", the ONNX and OpenVINO exports'
(cd "$REPO" && "$PY" -m pip install --quiet --quiet -e ".[deploy]")
"$PY" "$REPO/tools/deployment/export_onnx.py" "$CONFIG" none digits.onnx \
    --fuse --shape 32 32
"$PY" "$REPO/tools/deployment/export_openvino.py" "$CONFIG" none \
    digits.xml --fuse --shape 32 32
test -f digits.onnx && test -f digits.xml

step 'pip install -e ".[dev]", .ci/frameworks-env.sh from inside the venv'
(cd "$REPO" && "$PY" -m pip install --quiet --quiet -e ".[dev]")
PATH="$REPO/$VENV/bin:$PATH" "$REPO/.ci/frameworks-env.sh"
step done
