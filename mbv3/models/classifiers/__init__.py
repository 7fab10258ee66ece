from .data_preprocessor import ClsDataPreprocessor, JpegClsDataPreprocessor
from .image import ImageClassifier

__all__ = ['ClsDataPreprocessor', 'ImageClassifier', 'JpegClsDataPreprocessor']
