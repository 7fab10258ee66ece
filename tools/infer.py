"""Classify an image or a folder of images: a shim of
:mod:`mbv3.cli.infer`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('infer')
