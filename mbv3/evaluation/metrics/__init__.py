from .accuracy import Accuracy
from .confusion_matrix import ConfusionMatrix

__all__ = ['Accuracy', 'ConfusionMatrix']
