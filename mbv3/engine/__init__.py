from .hooks import *  # noqa: F401,F403
from .loops import SkipBadFilesTestLoop, SkipBadFilesValLoop
from .optim_constructor import DefaultOptimWrapperConstructor
from .optim_wrapper import AmpOptimWrapper

__all__ = ['AmpOptimWrapper', 'DefaultOptimWrapperConstructor',
           'SkipBadFilesTestLoop', 'SkipBadFilesValLoop']
