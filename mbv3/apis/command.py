"""What every mbv3 command shares: errors in one line, and the report of
the input files a batch command skipped as unreadable."""
import sys
from typing import Callable, List, Optional, Sequence


class SkippedFilesError(RuntimeError):
    """A batch command skipped unreadable input files (after writing every
    other result)."""


def add_command_args(parser, batch: bool = False) -> None:
    """``--debug`` (every command) and ``--allow-skipped`` (batch
    commands)."""
    parser.add_argument('--debug', action='store_true',
                        help='on an error, show the traceback')
    if batch:
        parser.add_argument(
            '--allow-skipped', action='store_true',
            help='exit with status 0 even when unreadable image files were '
            'skipped (they are listed either way)')


def report_skipped(skipped: Sequence[dict], allow: bool,
                   out: Optional[str] = None, log=print) -> None:
    """List the skipped files (``dict(image, error)``) at the end of a
    batch command, then fail unless ``allow``.

    Raises:
        SkippedFilesError: If any file was skipped and not ``allow``.
    """
    if not skipped:
        return
    log(f'skipped {len(skipped)} unreadable file(s):')
    for item in skipped:
        log(f"  {item['image']}: {item['error']}")
    if not allow:
        where = f' and in {out}' if out else ''
        raise SkippedFilesError(
            f'{len(skipped)} unreadable file(s) skipped (listed above'
            f'{where}); every other result was written; replace or remove '
            'them, or pass --allow-skipped to accept the skip')


def one_line(err: BaseException) -> str:
    """``Type: first line of the message``."""
    lines = str(err).strip().splitlines()
    return f'{type(err).__name__}: {lines[0] if lines else "(no message)"}'


def run_command(main: Callable, argv: Optional[List[str]] = None) -> int:
    """Run a command's ``main(argv)``; an error prints one line (the
    message names what is wrong, the file and the fix) and returns 1, or,
    with ``--debug`` in ``argv``, raises with its traceback.

    Returns:
        int: The exit status: 0, or 1 after an error.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        main(argv)
    except Exception as err:  # noqa: BLE001 -- every error, one line
        if '--debug' in argv:
            raise
        print(f'error: {one_line(err)} (--debug shows the traceback)',
              file=sys.stderr)
        return 1
    return 0
