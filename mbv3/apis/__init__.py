"""Library functions: build a model, classify images, train and test runs
(the commands are in :mod:`mbv3.cli`)."""
from .inference import (format_result, inference_folder, inference_model,
                        list_images, save_results, use_cuda_graphs)
from .model import init_model

__all__ = [
    'format_result', 'inference_folder', 'inference_model', 'init_model',
    'list_images', 'save_results', 'use_cuda_graphs'
]
