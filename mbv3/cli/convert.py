"""Convert a published MobileNetV3 checkpoint to mbv3
(``tools/convert_checkpoint.py``, ``mbv3-convert``).

    python -m mbv3.cli.convert SRC DST [--source S] [--weights NAME]
    python -m mbv3.cli.convert NAME DST   # published weights by name
"""
import argparse
import json
import os.path as osp

from mbv3.convert.converter import SOURCES, convert_checkpoint
from mbv3.convert.files import WRITE_EXTENSIONS, save_converted
from mbv3.convert.hub import fetch, load_converted, weights_name
from mbv3.utils.checkpoint import CHECKPOINT_EXTENSIONS, load_checkpoint_file
from mbv3.utils.deployment_files import check_not_deployment_file
from ._command import add_command_args, command


def parse_args(argv=None) -> argparse.Namespace:
    """Command line of ``mbv3-convert``."""
    parser = argparse.ArgumentParser(
        description='Convert a torchvision, timm, mmpretrain/mmcls or mmseg '
        'MobileNetV3 checkpoint to mbv3, recording the model options and '
        'preprocessing in the file.')
    parser.add_argument('src', help=f'source file {CHECKPOINT_EXTENSIONS}, or the '
                        'name of published weights (mbv3-weights list), '
                        'downloaded and checked on first use')
    parser.add_argument('dst', help=f'output file {WRITE_EXTENSIONS}')
    parser.add_argument('--source', default='auto',
                        choices=SOURCES + ('auto', ),
                        help='checkpoint family (default: from the keys)')
    parser.add_argument(
        '--weights', default=None,
        help='name of the weights, e.g. tf_mobilenetv3_large_100.in1k '
        '(default: taken from SRC\'s path); timm TensorFlow ports need it '
        'when their path does not say tf_mobilenetv3_...')
    add_command_args(parser)
    return parser.parse_args(argv)


@command
def main(argv=None) -> dict:
    """Convert ``src`` to ``dst``; print and return the metadata. A name of
    published weights is fetched (:func:`mbv3.convert.hub.fetch`) and its
    converted weights written to ``dst``.

    Raises:
        ValueError: For an unsupported extension or unrecognised keys.
        FileNotFoundError: If ``src`` does not exist.
        mbv3.utils.checkpoint.UnsafeCheckpointError: If ``src`` needs full
            unpickling.
        mbv3.utils.checkpoint.CorruptCheckpointError: If ``src`` is empty,
            truncated or damaged.
        mbv3.convert.hub.WeightsDownloadError,
        mbv3.convert.hub.WeightsHashError: See
            :func:`mbv3.convert.hub.fetch`.
    """
    args = parse_args(argv)
    if osp.splitext(args.dst)[1] not in WRITE_EXTENSIONS:
        raise ValueError(f'output file must end in one of '
                         f'{WRITE_EXTENSIONS}, got {args.dst!r}')
    name = weights_name(args.src)
    if name is not None:
        state_dict, meta = load_converted(fetch(name))
    else:
        state_dict, meta = _convert_file(args)
    save_converted(args.dst, state_dict, meta)
    print(json.dumps(meta, indent=2))
    print(f'wrote {len(state_dict)} tensors to {args.dst}')
    return meta


def _convert_file(args):
    if osp.isfile(args.src):
        check_not_deployment_file(args.src)
    if osp.splitext(args.src)[1] not in CHECKPOINT_EXTENSIONS:
        raise ValueError(f'source file must end in one of {CHECKPOINT_EXTENSIONS}, '
                         f'got {args.src!r}')
    checkpoint = load_checkpoint_file(args.src, map_location='cpu')
    return convert_checkpoint(checkpoint, args.source,
                              hint=args.weights or args.src)


if __name__ == '__main__':
    from mbv3.cli import run
    run('convert')
