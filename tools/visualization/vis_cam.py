"""Grad-CAM overlay of a classifier's prediction on an image: a shim of
:mod:`mbv3.cli.vis_cam`."""
from mbv3.cli.vis_cam import main

if __name__ == '__main__':
    main()
