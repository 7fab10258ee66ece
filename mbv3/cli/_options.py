"""Command-line options several commands share."""
import argparse

from ._command import add_max_image_pixels_arg

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
