"""Classify an image or a folder of images.

    python tools/infer.py CONFIG CHECKPOINT IMAGE|DIR [--topk 5]
        [--out results.json|results.csv]
"""
import sys

from mbv3.apis.command import run_command
from mbv3.apis.infer import infer

if __name__ == '__main__':
    sys.exit(run_command(infer))
