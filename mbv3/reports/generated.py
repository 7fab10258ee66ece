"""Generated sections of the docs: text between a begin and an end marker
line, written by a script and never edited by hand."""
import re


def replace_generated(text: str, begin: str, end: str, block: str) -> str:
    """Replace the section of ``text`` from ``begin`` to ``end`` (the
    marker lines included) with ``block``, which holds both markers.

    Raises:
        ValueError: If ``text`` lacks the markers.
    """
    pattern = re.compile(re.escape(begin) + '.*?' + re.escape(end),
                         re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f'no generated section: the text must hold the '
                         f'lines {begin!r} ... {end!r}')
    return pattern.sub(lambda _: block, text)


def generated_section(text: str, begin: str, end: str) -> str:
    """The section of ``text`` from ``begin`` to ``end`` (markers included).

    Raises:
        ValueError: If ``text`` lacks the markers.
    """
    start = text.find(begin)
    stop = text.find(end, start)
    if start < 0 or stop < 0:
        raise ValueError(f'no generated section: the text must hold the '
                         f'lines {begin!r} ... {end!r}')
    return text[start:stop + len(end)]
