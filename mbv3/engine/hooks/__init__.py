from .curves import CurvesHook
from .precise_bn import PreciseBNHook, update_bn_stats
from .throughput import ThroughputHook

__all__ = ['CurvesHook', 'PreciseBNHook', 'ThroughputHook', 'update_bn_stats']
