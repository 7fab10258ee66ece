"""Train a model from an mbv3 config.

    python tools/train.py configs/mobilenet_v3/mobilenet-v3-small_digits.py
"""
import sys

from mbv3.apis.command import run_command
from mbv3.apis.train import train

if __name__ == '__main__':
    sys.exit(run_command(train))
