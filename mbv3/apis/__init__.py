from .inference import (inference_folder, inference_model, init_model,
                        list_images)

__all__ = ['inference_folder', 'inference_model', 'init_model', 'list_images']
