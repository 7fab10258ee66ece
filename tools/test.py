"""Evaluate a checkpoint.

    python tools/test.py CONFIG CHECKPOINT
"""
from mbv3.apis.test import test

if __name__ == '__main__':
    test()
