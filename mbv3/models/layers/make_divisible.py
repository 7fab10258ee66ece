"""Channel rounding used by every MobileNet since V2."""
from mbv3.utils.checks import check_int


def make_divisible(value, divisor=8, min_value=None, min_ratio=0.9):
    """Round ``value`` to the nearest multiple of ``divisor``, never going
    below ``min_ratio * value``.

    Matches ``_make_divisible`` of torchvision and the TensorFlow MobileNet
    code (round half up, then add one ``divisor`` if the result lost more
    than 10%), and mmcv/mmpretrain's ``make_divisible``.

    Args:
        value (float): Channel count to round, e.g. ``16 * widen_factor``.
        divisor (int): The result is a multiple of this. Defaults to 8.
        min_value (int, optional): Lower bound of the result. Defaults to
            ``divisor``.
        min_ratio (float): The result is at least ``min_ratio * value``.
            Defaults to 0.9.

    Returns:
        int: The rounded channel count.

    Raises:
        ValueError: If ``divisor`` is not a positive int or ``value`` is not
            positive.

    Example:
        >>> make_divisible(16 * 0.75)
        16
        >>> make_divisible(44)
        48
    """
    check_int('divisor', divisor, low=1, allowed='a positive int')
    if not value > 0:
        raise ValueError(f'value must be positive, got {value!r}')
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < min_ratio * value:
        new_value += divisor
    return new_value
