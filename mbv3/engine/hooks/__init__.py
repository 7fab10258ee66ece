from .bad_file_report import BadFileReportHook
from .nonfinite_loss import NonFiniteLossError, NonFiniteLossHook
from .num_classes_check import NumClassesCheckHook
from .precise_bn import PreciseBNHook, update_bn_stats
from .resume_seed import DeterministicResumeHook, seed_everything
from .signal_checkpoint import SignalCheckpointHook

__all__ = [
    'BadFileReportHook', 'DeterministicResumeHook', 'NonFiniteLossError',
    'NonFiniteLossHook', 'NumClassesCheckHook', 'PreciseBNHook',
    'SignalCheckpointHook', 'seed_everything', 'update_bn_stats'
]
