"""Evaluate a checkpoint.

    python tools/test.py CONFIG CHECKPOINT
"""
import sys

from mbv3.apis.command import run_command
from mbv3.apis.test import test

if __name__ == '__main__':
    sys.exit(run_command(test))
