from .checkpoint import UnsafeCheckpointError, load_checkpoint_file
from .flops import count_macs

__all__ = ['UnsafeCheckpointError', 'load_checkpoint_file', 'count_macs']
