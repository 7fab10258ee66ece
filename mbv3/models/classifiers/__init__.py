from .data_preprocessor import ClsDataPreprocessor
from .image import ImageClassifier

__all__ = ['ClsDataPreprocessor', 'ImageClassifier']
