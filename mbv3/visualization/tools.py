"""Deprecated: the commands moved to ``mbv3.cli.vis_*``."""
from mbv3.utils.deprecation import moved

vis_cam = moved('mbv3.visualization.tools.vis_cam', 'mbv3.cli.vis_cam.main')
vis_curves = moved('mbv3.visualization.tools.vis_curves',
                   'mbv3.cli.vis_curves.main')
vis_features = moved('mbv3.visualization.tools.vis_features',
                     'mbv3.cli.vis_features.main')
