"""Plots of training runs."""
from .curves import load_scalars, plot_curves

__all__ = ['load_scalars', 'plot_curves']
