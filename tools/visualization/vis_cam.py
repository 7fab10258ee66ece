"""Grad-CAM overlay of a classifier's prediction on an image: a shim of
:mod:`mbv3.cli.vis_cam`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('vis_cam')
