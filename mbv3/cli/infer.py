"""Classify an image or every image of a folder (``tools/infer.py``,
``mbv3-infer``).

    python -m mbv3.cli.infer CONFIG|- CHECKPOINT|NAME IMAGE|DIR [--topk 5]
        [--out results.json|results.csv]
"""
import argparse
import os.path as osp
import sys
from typing import List

from mbv3.datasets.data_root import resolve_num_classes, root_classes
from mbv3.apis.inference import (OUT_FORMATS, format_result,
                                 inference_folder, save_results,
                                 use_cuda_graphs)
from mbv3.apis.model import init_model, load_config
from mbv3.convert.hub import resolve_checkpoint
from mbv3.deploy.malloc import MODES as MALLOC_MODES
from mbv3.deploy.malloc import tune_allocator
from ._command import (add_command_args, add_config_arg, add_data_root_arg,
                       add_max_image_pixels_arg,
                       command, report_skipped)


def parse_args(argv=None) -> argparse.Namespace:
    """Command line of ``mbv3-infer``."""
    parser = argparse.ArgumentParser(
        description='Classify an image or every image of a folder')
    add_config_arg(parser, "'-' to take the model and preprocessing "
                   'from a converted checkpoint')
    parser.add_argument('checkpoint', help='checkpoint file, or the name of '
                        'published weights (mbv3-weights list)')
    parser.add_argument('input', help='an image file or a folder of images '
                        '(searched recursively)')
    parser.add_argument('--topk', type=int, default=5,
                        help='best classes to report per image (default 5, '
                        'clipped to the number of classes)')
    parser.add_argument('--out', help='also write the results to this '
                        '.json or .csv file')
    parser.add_argument('--batch-size', type=int, default=32,
                        help='images per forward pass (default 32)')
    parser.add_argument('--device', default='cpu', help="e.g. 'cuda:0'")
    parser.add_argument('--cuda-graphs', action='store_true',
                        help='replay the backbone from CUDA graphs, one per '
                        'batch shape (CUDA devices only)')
    parser.add_argument('--malloc', choices=MALLOC_MODES, default=None,
                        help='CPU allocator (mbv3.deploy.malloc): tuned '
                        '(keep freed activation memory) or default (glibc '
                        'as is); default: the MBV3_MALLOC environment '
                        'variable, else tuned')
    parser.add_argument('--partial-load', action='store_true',
                        help='load the checkpoint tensors that fit the model '
                        'and keep the initial values of the others (default: '
                        'stop when any key or shape differs)')
    add_data_root_arg(parser)
    add_max_image_pixels_arg(parser)
    add_command_args(parser, batch=True)
    return parser.parse_args(argv)


@command
def main(argv=None) -> List[dict]:
    """Parse ``argv``, classify the input, print and optionally save.

    Returns:
        list[dict]: See :func:`~mbv3.apis.inference_folder`.

    Raises:
        FileNotFoundError: Missing config, checkpoint or images.
        ValueError: Bad ``--topk``, ``--batch-size`` or ``--out``.
        SkippedFilesError: After writing every other result, when an
            unreadable file was skipped and ``--allow-skipped`` not given.
    """
    args = parse_args(argv)
    if args.cuda_graphs and not args.device.startswith('cuda'):
        raise ValueError(f'--cuda-graphs needs a CUDA --device, got '
                         f'{args.device!r}')
    print(f'allocator: {tune_allocator(args.malloc)}', file=sys.stderr)
    if args.out is not None and \
            osp.splitext(args.out)[1].lower() not in OUT_FORMATS:
        raise ValueError(f'--out must end in one of {OUT_FORMATS}, got '
                         f'{args.out!r}')
    checkpoint = resolve_checkpoint(args.checkpoint)
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint!r} does not exist')
    config = None if args.config == '-' else load_config(args.config)
    if args.data_root is not None and config is not None:
        resolve_num_classes(config, root_classes(args.data_root))
    model = init_model(config, checkpoint, device=args.device,
                       strict=not args.partial_load)
    if args.cuda_graphs:
        use_cuda_graphs(model)
    results = inference_folder(model, args.input, topk=args.topk,
                               batch_size=args.batch_size,
                               skip_bad_files=True)
    for result in results:
        print(format_result(result))
    skipped = [r for r in results if 'error' in r]
    if args.out is not None:
        save_results(results, args.out)
        print(f'wrote {len(results) - len(skipped)} results to {args.out}')
    report_skipped(skipped, args.allow_skipped, args.out)
    return results


if __name__ == '__main__':
    from mbv3.cli import run
    run('infer')
