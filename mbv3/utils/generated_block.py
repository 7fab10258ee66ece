"""Generated sections of the README and docs: text between a begin and an
end marker that a script writes and a test compares."""
import re


def replace_block(text: str, block: str, begin: str, end: str) -> str:
    """Replace the section of ``text`` from the line ``begin`` to ``end``
    with ``block`` (which carries the markers itself).

    Raises:
        ValueError: If ``text`` lacks the begin/end markers.
    """
    pattern = re.compile(re.escape(begin) + '.*?' + re.escape(end),
                         re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f'no generated section: the text must hold the '
                         f'lines {begin!r} ... {end!r}')
    return pattern.sub(lambda _: block, text)
