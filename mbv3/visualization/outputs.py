"""Read chosen backbone outputs through the backbone's own ``out_indices``
grammar, instead of hooking its layers."""
from contextlib import contextmanager
from typing import Iterator, Sequence


@contextmanager
def selected_outputs(backbone, out_indices: Sequence) -> Iterator[tuple]:
    """Make ``backbone`` return ``out_indices`` inside the block, then
    restore its own selection.

    Args:
        backbone (MobileNetV3): Any backbone with an assignable
            ``out_indices`` and a ``feature_info``.
        out_indices: Entries as the backbone accepts them (ints, negative
            ints, ``'<i>.expand'``).

    Yields:
        tuple[LayerSpec]: The selected outputs, in order.

    Raises:
        ValueError: As assigning ``backbone.out_indices`` does.
    """
    saved = backbone.out_indices
    backbone.out_indices = out_indices
    try:
        yield backbone.feature_info
    finally:
        backbone.out_indices = saved
