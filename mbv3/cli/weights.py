"""Published MobileNetV3 weights by name (``tools/weights.py``,
``mbv3-weights``): list them, or fetch some into the cache.

    python -m mbv3.cli.weights list
    python -m mbv3.cli.weights fetch NAME [NAME ...]
"""
import argparse

from mbv3.convert.hub import fetch, pinned_sha256
from mbv3.convert.weights import WEIGHTS, format_weights, get_weights, pinning
from ._command import command


def parse_args(argv=None) -> argparse.Namespace:
    """Command line of ``mbv3-weights``."""
    parser = argparse.ArgumentParser(
        description='Published MobileNetV3 weights by name: list them, or '
        'download, check and convert them into the cache ($MBV3_HOME, '
        'default ~/.cache/mbv3)')
    commands = parser.add_subparsers(dest='command', required=True)
    commands.add_parser('list', help='names, family, arch, the accuracy '
                        'their source publishes, and how their file is '
                        'pinned (a published full sha256, or the 8-hex '
                        'prefix in its name plus the full sha256 of the '
                        'first download, shown once recorded)')
    fetch_parser = commands.add_parser(
        'fetch', help='download, check and convert; print the cached path')
    fetch_parser.add_argument('names', nargs='+', metavar='NAME')
    return parser.parse_args(argv)


@command
def main(argv=None) -> None:
    """Run ``list`` or ``fetch`` (see :func:`parse_args`).

    Raises:
        ValueError: For an unknown name (checked before any download).
        mbv3.convert.hub.WeightsDownloadError,
        mbv3.convert.hub.WeightsHashError: See
            :func:`mbv3.convert.hub.fetch`.
    """
    args = parse_args(argv)
    if args.command == 'list':
        print(format_weights(pins={name: _pin(w)
                                   for name, w in WEIGHTS.items()}))
        return
    for name in args.names:
        get_weights(name)
    for name in args.names:
        print(fetch(name))


def _pin(weights) -> str:
    """How ``weights`` is pinned, and the full sha256 it is held to (its
    first 16 hex digits), or that none is recorded yet."""
    digest = pinned_sha256(weights)
    held = f'`{digest[:16]}...`' if digest else 'not downloaded yet'
    return f'{pinning(weights)}: {held}'


if __name__ == '__main__':
    from mbv3.cli import run
    run('weights')
