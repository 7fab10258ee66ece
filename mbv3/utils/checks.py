"""The "must be an int" and "must be in [0, 1)" checks behind mbv3's
argument validation."""
import numbers
from typing import Optional, Sequence, Tuple


def check_int(name: str, value, low: Optional[int] = None,
              high: Optional[int] = None, allowed: Optional[str] = None
              ) -> None:
    """Raise unless ``value`` is an int (not a bool) in ``[low, high]``.

    Args:
        name (str): The argument, as the message names it.
        value: What was given.
        low (int, optional): Smallest allowed value.
        high (int, optional): Largest allowed value.
        allowed (str, optional): What is allowed, in words; defaults to
            'an int', 'an int >= low', 'an int <= high' or
            'an int in [low, high]'.

    Raises:
        ValueError: ``'<name> must be <allowed>, got <value!r>'``.
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and low is not None:
        ok = value >= low
    if ok and high is not None:
        ok = value <= high
    if ok:
        return
    if allowed is None:
        allowed = ('an int' if low is None and high is None else
                   f'an int >= {low}' if high is None else
                   f'an int <= {high}' if low is None else
                   f'an int in [{low}, {high}]')
    raise ValueError(f'{name} must be {allowed}, got {value!r}')


def check_pair(name: str, value, what: str = 'a pair') -> Tuple[int, int]:
    """``value`` as a pair of positive ints; an int ``n`` is ``(n, n)``.

    Raises:
        ValueError: ``'<name> must be a positive int or <what> of them,
            got <value!r>'``.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if not (isinstance(value, Sequence) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0
            for v in value)):
        raise ValueError(f'{name} must be a positive int or {what} of them, '
                         f'got {value!r}')
    return tuple(value)


def check_fraction(name: str, value) -> None:
    """Raise unless ``value`` is a real number (not a bool) in ``[0, 1)``:
    a rate or a share such as a dropout rate or label smoothing.

    Raises:
        ValueError: ``'<name> must be in [0, 1), got <value!r>'``.
    """
    if (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and 0 <= value < 1):
        return
    raise ValueError(f'{name} must be in [0, 1), got {value!r}')
