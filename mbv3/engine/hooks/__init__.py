from .precise_bn import PreciseBNHook, update_bn_stats

__all__ = ['PreciseBNHook', 'update_bn_stats']
