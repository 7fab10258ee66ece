from .mobilenet_v3 import (ARCH_SETTINGS, BlockConfig, LayerSpec, MobileNetV3,
                           parse_arch, plan_layers, select_outputs)

__all__ = [
    'ARCH_SETTINGS', 'BlockConfig', 'LayerSpec', 'MobileNetV3', 'parse_arch',
    'plan_layers', 'select_outputs'
]
