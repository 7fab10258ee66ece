"""Draw a classifier backbone's feature maps of a photo as a PNG grid.

    python tools/visualization/vis_features.py CONFIG CHECKPOINT IMAGE \
        OUT.png [--layers 1 3 8 12] [--input-size 224] [--size 1200 800]
"""
from mbv3.visualization.tools import vis_features

if __name__ == '__main__':
    vis_features()
