from .lraspp_head import LRASPPHead
from .stacked_head import LinearBlock, StackedLinearClsHead

__all__ = ['LRASPPHead', 'LinearBlock', 'StackedLinearClsHead']
