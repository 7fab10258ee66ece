"""Train a model from an mbv3 config.

    python tools/train.py configs/mobilenet_v3/mobilenet-v3-small_digits.py
"""
from mbv3.apis.train import train

if __name__ == '__main__':
    train()
