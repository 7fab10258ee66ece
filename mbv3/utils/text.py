"""Text from files, made safe to print."""


def printable(text: str) -> str:
    """``text`` with every character that is not printable (control
    characters such as ESC, CR, BEL, and Unicode format characters such as
    bidirectional overrides) written as its Python escape, e.g.
    ``'\\x1b'`` for ESC: a name read from a file then cannot move the
    cursor, clear or retitle the terminal, or hide part of a line.
    Printable text comes back unchanged, so applying it twice changes
    nothing more.

    Args:
        text (str): Text read from a file (a class name, a file name).

    Returns:
        str: Text whose every character satisfies ``str.isprintable``.
    """
    return ''.join(c if c.isprintable() else
                   c.encode('unicode_escape').decode('ascii') for c in text)
