from .cross_entropy import CrossEntropyLoss, LabelSmoothLoss

__all__ = ['CrossEntropyLoss', 'LabelSmoothLoss']
