"""Plot loss and validation accuracy curves of a training run as a PNG.

    python tools/visualization/vis_curves.py WORK_DIR|scalars.json OUT.png \
        [--size 1000 400]
"""
from mbv3.visualization.tools import vis_curves

if __name__ == '__main__':
    vis_curves()
