"""What mbv3's commands share: errors in one line, the options several
take, and the report of the input files a batch command skipped as
unreadable."""
import argparse
import functools
import json
import sys
from typing import Callable, List, Optional, Sequence

from mbv3.engine.mmengine_patches import apply_mmengine_fixes
from mbv3.version import install_hint


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


def add_config_arg(parser, alternative: str = '') -> None:
    """The ``config`` positional argument; a path not found from the
    current folder is looked up in the installed package's ``configs/``
    (:func:`mbv3.utils.config_files.find_config`). ``alternative``: what
    else the command takes in its place, e.g. ``"'-' ..."``."""
    parser.add_argument(
        'config', help='config file path (a path not found from the current '
        "folder is looked up in the installed package's configs/)"
        + (f'; or {alternative}' if alternative else ''))


def add_data_root_arg(parser) -> None:
    """The ``--data-root DIR`` option of train, test and infer."""
    parser.add_argument(
        '--data-root', metavar='DIR',
        help='read every data set from DIR (DIR/train/<class>/<image>, '
        'optionally DIR/val/...; without val/ a seeded split of train/ is '
        'recorded in the work dir); the class count comes from the folder '
        'when the config leaves num_classes out, and nothing is '
        'auto-prepared')


class _MaxImagePixels(argparse.Action):
    """Applies ``--max-image-pixels`` as it is parsed."""

    def __call__(self, parser, namespace, value, option_string=None):
        from mbv3.datasets.transforms import set_max_image_pixels
        set_max_image_pixels(value)
        setattr(namespace, self.dest, value)


def add_max_image_pixels_arg(parser) -> None:
    """``--max-image-pixels N`` of the commands that read images: raise the
    one pixel limit of every image reader
    (:func:`mbv3.datasets.transforms.set_max_image_pixels`)."""
    parser.add_argument(
        '--max-image-pixels', type=int, metavar='N', action=_MaxImagePixels,
        help='refuse images of more than N pixels (width x height) as '
        "decompression bombs (default: Pillow's limit, 89,478,485, or "
        'the MBV3_MAX_IMAGE_PIXELS environment variable)')


SIZE_HELP = 'width and height of the PNG, in pixels'


def model_image_parser(description: str, size) -> argparse.ArgumentParser:
    """Parser of the commands that draw a classifier's view of an image:
    ``config checkpoint image out`` plus ``--input-size``, ``--size``
    (default ``size``, pixels), ``--device`` and ``--max-image-pixels``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='classifier config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('image', help='image file')
    parser.add_argument('out', help='output .png')
    parser.add_argument('--input-size', type=int, default=None,
                        help='the image is resized to this square, in '
                        "pixels (default: the config's test size)")
    parser.add_argument('--size', type=int, nargs=2, default=size,
                        metavar=('W', 'H'), help=SIZE_HELP)
    parser.add_argument('--device', default='cpu', help="e.g. 'cuda:0'")
    add_max_image_pixels_arg(parser)
    return parser


def report_skipped(skipped: Sequence[dict], allow: bool,
                   out: Optional[str] = None, log=print) -> None:
    """List the skipped files (``dict(image, error)``) at the end of a
    batch command, then fail unless ``allow``.

    Raises:
        SkippedFilesError: If any file was skipped and not ``allow``.
    """
    if not skipped:
        return
    from mbv3.datasets.folder import display_path
    log(f'skipped {len(skipped)} unreadable file(s):')
    for item in skipped:
        log(f"  {display_path(item['image'])}: {item['error']}")
    if not allow:
        where = f' and in {out}' if out else ''
        raise SkippedFilesError(
            f'{len(skipped)} unreadable file(s) skipped (listed above'
            f'{where}); every other result was written; replace or remove '
            'them, or pass --allow-skipped to accept the skip')


def one_line(err: BaseException) -> str:
    """``Type: first line of the message``; for a module that is not
    installed, what installs it (:func:`mbv3.version.install_hint`)."""
    lines = str(err).strip().splitlines()
    message = lines[0] if lines else '(no message)'
    if isinstance(err, ModuleNotFoundError) and err.name and \
            err.name.split('.')[0] != 'mbv3':
        message += f' ({install_hint(err.name)})'
    return f'{type(err).__name__}: {message}'


def command(main: Callable) -> Callable:
    """Decorate a command's ``main(argv=None)``: mbv3's mmengine fixes are
    applied first (:func:`~mbv3.engine.mmengine_patches.
    apply_mmengine_fixes`); run from the command line (``argv`` None), an
    error prints one line (the message names what is wrong, the file and
    the fix) and exits with status 1, or, with ``--debug``, raises with
    its traceback; called from Python with ``argv``, errors raise as usual.
    """

    @functools.wraps(main)
    def run(argv: Optional[List[str]] = None):
        apply_mmengine_fixes()
        if argv is not None:
            return main(argv)
        argv = sys.argv[1:]
        debug = '--debug' in argv
        try:
            # taken here, so that a parser without add_command_args (the
            # option shows in --help where it has them) accepts it too
            return main([arg for arg in argv if arg != '--debug'])
        except Exception as err:  # noqa: BLE001 -- every error, one line
            if debug:
                raise
            print(f'error: {one_line(err)} (--debug shows the traceback)',
                  file=sys.stderr)
            sys.exit(1)

    return run


def write_json(path: Optional[str], data) -> None:
    """Write ``data`` to the JSON file ``path`` (an ``--out`` option) and
    say so; nothing when ``path`` is None."""
    if path:
        with open(path, 'w') as f:
            json.dump(data, f, indent=1)
        print(f'wrote {path}')
