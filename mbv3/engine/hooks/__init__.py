from .bad_file_report import BadFileReportHook
from .checkpoint import CheckpointHook
from .curves import CurvesHook
from .mmengine_patches_hook import MMEngineFixesHook
from .nonfinite_loss import NonFiniteLossError, NonFiniteLossHook
from .num_classes_check import NumClassesCheckHook
from .precise_bn import PreciseBNHook, update_bn_stats
from .qat import QATHook, qat_meta
from .results import ResultsHook
from .resume_seed import DeterministicResumeHook, seed_everything
from .signal_checkpoint import SignalCheckpointHook
from .throughput import ThroughputHook

__all__ = [
    'BadFileReportHook', 'CheckpointHook', 'CurvesHook',
    'DeterministicResumeHook', 'MMEngineFixesHook',
    'NonFiniteLossError', 'NonFiniteLossHook', 'NumClassesCheckHook',
    'PreciseBNHook', 'QATHook', 'ResultsHook', 'SignalCheckpointHook', 'ThroughputHook',
    'qat_meta', 'seed_everything', 'update_bn_stats'
]
