"""Old import paths of moved functions, kept for one release."""
import importlib
import warnings
from typing import Callable


def moved(old: str, new: str) -> Callable:
    """A function that warns that ``old`` moved to ``new`` and calls it.

    The target is imported on first call, so an alias in a lower layer
    (``mbv3.apis``) does not import the command layer (``mbv3.cli``).

    Args:
        old (str): The deprecated dotted name, e.g. 'mbv3.apis.train.train'.
        new (str): The dotted name to call instead, e.g.
            'mbv3.cli.train.main'.

    Returns:
        Callable: Takes and returns what ``new`` does; each call emits a
        ``DeprecationWarning`` naming both.
    """
    module, name = new.rsplit('.', 1)

    def alias(*args, **kwargs):
        warnings.warn(f'{old} is deprecated and will be removed in the next '
                      f'release; use {new}', DeprecationWarning,
                      stacklevel=2)
        return getattr(importlib.import_module(module), name)(*args,
                                                               **kwargs)

    alias.__name__ = old.rsplit('.', 1)[1]
    alias.__qualname__ = alias.__name__
    alias.__doc__ = f'Deprecated alias of :func:`{new}`.'
    return alias


def module_moved(old: str, new: str) -> Callable[[str], object]:
    """A module ``__getattr__`` for a module that moved to ``new``.

    Each name read from the old module warns and is taken from ``new``,
    imported on first use (so the alias imports nothing upward).

    Args:
        old (str): The deprecated module, e.g. 'mbv3.utils.model_zoo'.
        new (str): Where it lives now, e.g. 'mbv3.reports.model_zoo'.

    Returns:
        Callable: To assign to the old module's ``__getattr__``.
    """

    def __getattr__(name: str):
        if name.startswith('__'):
            raise AttributeError(f'module {old!r} has no attribute {name!r}')
        warnings.warn(f'{old} is deprecated and will be removed in the next '
                      f'release; use {new}', DeprecationWarning,
                      stacklevel=2)
        return getattr(importlib.import_module(new), name)

    return __getattr__
