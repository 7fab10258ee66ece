from .stacked_head import LinearBlock, StackedLinearClsHead

__all__ = ['LinearBlock', 'StackedLinearClsHead']
