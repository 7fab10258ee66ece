"""What ``tools/infer.py`` does, as importable functions."""
import argparse
import csv
import json
import os
import os.path as osp
import sys
from typing import List

from mbv3.utils.malloc import MODES as MALLOC_MODES
from mbv3.utils.malloc import tune_allocator

from .inference import inference_folder, init_model

OUT_FORMATS = ('.json', '.csv')


def parse_infer_args(argv=None) -> argparse.Namespace:
    """Command line of ``tools/infer.py``."""
    parser = argparse.ArgumentParser(
        description='Classify an image or every image of a folder')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
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
    parser.add_argument('--malloc', choices=MALLOC_MODES, default=None,
                        help='CPU allocator: tuned (keep freed activation '
                        'memory, the default) or default (glibc as is); '
                        'default: the MBV3_MALLOC environment variable, '
                        'else tuned')
    return parser.parse_args(argv)


def save_results(results: List[dict], out: str) -> None:
    """Write :func:`~mbv3.apis.inference_folder` results to a file.

    * ``.json``: the list of per-image dicts (``image``, ``pred_label``,
      ``pred_class``, ``pred_score``, ``topk``).
    * ``.csv``: one row per image and rank, columns ``image, rank, label,
      class, score`` (rank 1 is the prediction).

    Args:
        results (list[dict]): From :func:`~mbv3.apis.inference_folder`.
        out (str): Path ending in ``.json`` or ``.csv``.

    Raises:
        ValueError: If ``out`` has another extension.
    """
    ext = osp.splitext(out)[1].lower()
    if ext not in OUT_FORMATS:
        raise ValueError(f'--out must end in one of {OUT_FORMATS}, got '
                         f'{out!r}')
    if osp.dirname(out):
        os.makedirs(osp.dirname(out), exist_ok=True)
    with open(out, 'w', newline='') as f:
        if ext == '.json':
            json.dump(results, f, indent=2)
            return
        writer = csv.writer(f)
        writer.writerow(['image', 'rank', 'label', 'class', 'score'])
        for result in results:
            for rank, top in enumerate(result['topk'], start=1):
                writer.writerow([result['image'], rank, top['label'],
                                 top['cls'], f"{top['score']:.6f}"])


def format_result(result: dict) -> str:
    """One line per image: the path, then ``class (score)`` best first."""
    tops = ', '.join(
        f"{top['cls'] if top['cls'] is not None else top['label']} "
        f"({top['score']:.3f})" for top in result['topk'])
    return f"{result['image']}: {tops}"


def infer(argv=None) -> List[dict]:
    """Parse ``argv``, classify the input, print and optionally save.

    Returns:
        list[dict]: See :func:`~mbv3.apis.inference_folder`.

    Raises:
        FileNotFoundError: Missing config, checkpoint or images.
        ValueError: Bad ``--topk``, ``--batch-size`` or ``--out``.
    """
    args = parse_infer_args(argv)
    print(f'allocator: {tune_allocator(args.malloc)}', file=sys.stderr)
    if args.out is not None and \
            osp.splitext(args.out)[1].lower() not in OUT_FORMATS:
        raise ValueError(f'--out must end in one of {OUT_FORMATS}, got '
                         f'{args.out!r}')
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not '
                                'exist')
    model = init_model(args.config, args.checkpoint, device=args.device)
    results = inference_folder(model, args.input, topk=args.topk,
                               batch_size=args.batch_size)
    for result in results:
        print(format_result(result))
    if args.out is not None:
        save_results(results, args.out)
        print(f'wrote {len(results)} results to {args.out}')
    return results
