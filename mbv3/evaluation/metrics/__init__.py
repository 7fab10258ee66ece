from .accuracy import Accuracy
from .iou import IoUMetric

__all__ = ['Accuracy', 'IoUMetric']
