"""Draw a classifier backbone's feature maps of a photo: a shim of
:mod:`mbv3.cli.vis_features`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('vis_features')
