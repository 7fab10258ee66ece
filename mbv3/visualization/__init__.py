"""Pictures of models and runs, written as PNGs of an exact pixel size."""
from .cam import grad_cam, overlay, plot_cam
from .confusion import plot_confusion_matrix
from .curves import find_scalars, plot_curves, read_scalars
from .features import (default_layers, extract_layers, plot_feature_maps,
                       strongest_channels)
from .image import load_image

__all__ = [
    'default_layers', 'extract_layers', 'find_scalars', 'grad_cam',
    'load_image', 'overlay', 'plot_cam', 'plot_confusion_matrix',
    'plot_curves', 'plot_feature_maps', 'read_scalars', 'strongest_channels'
]
