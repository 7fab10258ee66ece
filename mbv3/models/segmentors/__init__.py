from .data_preprocessor import SegDataPreprocessor
from .encoder_decoder import EncoderDecoder

__all__ = ['EncoderDecoder', 'SegDataPreprocessor']
