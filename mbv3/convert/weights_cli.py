"""Command line of ``tools/weights.py``: list the published weights mbv3
knows, or fetch some into the cache."""
import argparse

from .hub import WeightsDownloadError, WeightsHashError, fetch
from .weights import format_weights, get_weights


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Published MobileNetV3 weights by name: list them, or '
        'download, check and convert them into the cache ($MBV3_HOME, '
        'default ~/.cache/mbv3)')
    commands = parser.add_subparsers(dest='command', required=True)
    commands.add_parser('list', help='names, family, arch and the accuracy '
                        'their source publishes')
    fetch_parser = commands.add_parser(
        'fetch', help='download, check and convert; print the cached path')
    fetch_parser.add_argument('names', nargs='+', metavar='NAME')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    """Run ``list`` or ``fetch`` (see :func:`parse_args`).

    Raises:
        ValueError: For an unknown name.
        WeightsDownloadError, WeightsHashError: See
            :func:`mbv3.convert.hub.fetch`.
    """
    args = parse_args(argv)
    if args.command == 'list':
        print(format_weights())
        return
    for name in args.names:
        get_weights(name)  # every name checked before any download
    for name in args.names:
        print(fetch(name))


ERRORS = (ValueError, WeightsDownloadError, WeightsHashError)
