"""Convert published MobileNetV3 checkpoints (torchvision, timm,
mmpretrain/mmcls, mmseg) to mbv3 models; see ``tools/convert_checkpoint.py``
and docs/weights.md."""
from .converter import (SOURCES, convert_checkpoint, convert_state_dict,
                        detect_source, infer_backbone, model_config, unwrap)
from .files import config_from_metadata, read_metadata, save_converted

__all__ = [
    'SOURCES', 'convert_checkpoint', 'convert_state_dict', 'detect_source',
    'infer_backbone', 'model_config', 'unwrap', 'config_from_metadata',
    'read_metadata', 'save_converted'
]
