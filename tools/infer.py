"""Classify an image or a folder of images.

    python tools/infer.py CONFIG|- CHECKPOINT|NAME IMAGE|DIR [--topk 5]
        [--out results.json|results.csv]
"""
from mbv3.apis.infer import infer

if __name__ == '__main__':
    infer()
