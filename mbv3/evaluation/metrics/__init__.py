from .accuracy import Accuracy
from .confusion_matrix import ConfusionMatrix
from .iou import IoUMetric

__all__ = ['Accuracy', 'ConfusionMatrix', 'IoUMetric']
