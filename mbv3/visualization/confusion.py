"""Confusion matrix picture."""
from typing import Optional, Sequence

import numpy as np

from .figure import new_figure, save_figure


def plot_confusion_matrix(matrix, out_png: str,
                          classes: Optional[Sequence[str]] = None,
                          size=(600, 600), normalize: bool = True) -> str:
    """Draw a confusion matrix: rows are true classes, columns predicted.

    Args:
        matrix (array-like): ``(K, K)`` counts, ``matrix[t, p]`` images of
            class ``t`` predicted as ``p``.
        out_png (str): Output path (``.png``).
        classes (Sequence[str], optional): ``K`` names; default indices.
        size (tuple[int, int]): ``(width, height)`` in pixels.
        normalize (bool): Colour by the fraction of each true class (row);
            the cells always print the counts (when K <= 30).

    Returns:
        str: ``out_png``.

    Raises:
        ValueError: If ``matrix`` is not square or ``classes`` has the
            wrong length.
    """
    counts = np.asarray(matrix)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f'matrix must be square (K, K), got shape '
                         f'{counts.shape}')
    num = counts.shape[0]
    classes = [str(i) for i in range(num)] if classes is None else \
        [str(c) for c in classes]
    if len(classes) != num:
        raise ValueError(f'classes must have {num} names, got '
                         f'{len(classes)}')
    colour = counts.astype(np.float64)
    if normalize:
        colour = colour / np.maximum(colour.sum(1, keepdims=True), 1)
    fig = new_figure(size)
    ax = fig.subplots()
    image = ax.imshow(colour, cmap='Blues', vmin=0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(num), classes, rotation=90 if num > 10 else 0,
                  fontsize=7)
    ax.set_yticks(range(num), classes, fontsize=7)
    ax.set_xlabel('predicted')
    ax.set_ylabel('true')
    if num <= 30:
        threshold = colour.max() / 2
        for t in range(num):
            for p in range(num):
                ax.text(p, t, str(int(counts[t, p])), ha='center',
                        va='center', fontsize=7,
                        color='white' if colour[t, p] > threshold else
                        'black')
    fig.tight_layout()
    return save_figure(fig, out_png)
