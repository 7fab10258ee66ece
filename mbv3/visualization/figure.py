"""Matplotlib figures of an exact pixel size, without global state."""
import os
import os.path as osp
from typing import Tuple

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 100
MIN_SIDE = 32  # pixels: below this no axis fits


def check_size(size) -> Tuple[int, int]:
    """Validate a ``(width, height)`` request in pixels.

    Raises:
        ValueError: If ``size`` is not two ints >= 32.
    """
    ok = isinstance(size, (tuple, list)) and len(size) == 2 and all(
        isinstance(s, int) and not isinstance(s, bool) and s >= MIN_SIDE
        for s in size)
    if not ok:
        raise ValueError(f'size must be (width, height) in pixels, two ints '
                         f'>= {MIN_SIDE}, got {size!r}')
    return int(size[0]), int(size[1])


def new_figure(size) -> Figure:
    """A figure that saves to exactly ``size = (width, height)`` pixels.

    Raises:
        ValueError: See :func:`check_size`.
    """
    width, height = check_size(size)
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, out_png: str) -> str:
    """Save ``fig`` as a PNG at its exact pixel size (no tight bbox, which
    would change the size). Creates the parent folder. Returns the path."""
    if not str(out_png).lower().endswith('.png'):
        raise ValueError(f'output file must end in .png, got {out_png!r}')
    if osp.dirname(out_png):
        os.makedirs(osp.dirname(out_png), exist_ok=True)
    fig.savefig(out_png, dpi=DPI, format='png')
    return out_png
