"""Grad-CAM overlay of a classifier's prediction on an image, as a PNG.

    python tools/visualization/vis_cam.py CONFIG CHECKPOINT IMAGE OUT.png \
        [--layer -1] [--target CLASS] [--input-size 224] [--size 800 400]
"""
from mbv3.visualization.tools import vis_cam

if __name__ == '__main__':
    vis_cam()
