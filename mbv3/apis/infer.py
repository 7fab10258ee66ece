"""What ``tools/infer.py`` does, as importable functions."""
import argparse
import csv
import json
import os
import os.path as osp
from typing import List

from .command import add_command_args, report_skipped
from .data_root import add_data_root_arg, root_classes, resolve_num_classes
from .inference import inference_folder, init_model, load_config

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
    add_data_root_arg(parser)
    add_command_args(parser, batch=True)
    return parser.parse_args(argv)


def save_results(results: List[dict], out: str) -> None:
    """Write :func:`~mbv3.apis.inference_folder` results to a file.

    * ``.json``: the list of per-image dicts (``image``, ``pred_label``,
      ``pred_class``, ``pred_score``, ``topk``; ``image`` and ``error`` for
      a skipped file).
    * ``.csv``: one row per image and rank, columns ``image, rank, label,
      class, score, error`` (rank 1 is the prediction; a skipped file has
      one row with only ``image`` and ``error``).

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
        writer.writerow(['image', 'rank', 'label', 'class', 'score',
                         'error'])
        for result in results:
            if 'error' in result:
                writer.writerow([result['image'], '', '', '', '',
                                 result['error']])
            for rank, top in enumerate(result.get('topk', ()), start=1):
                writer.writerow([result['image'], rank, top['label'],
                                 top['cls'], f"{top['score']:.6f}", ''])


def format_result(result: dict) -> str:
    """One line per image: the path, then ``class (score)`` best first (or
    ``skipped: <error>``)."""
    if 'error' in result:
        return f"{result['image']}: skipped: {result['error']}"
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
        SkippedFilesError: After writing every other result, when an
            unreadable file was skipped and ``--allow-skipped`` not given.
    """
    args = parse_infer_args(argv)
    if args.out is not None and \
            osp.splitext(args.out)[1].lower() not in OUT_FORMATS:
        raise ValueError(f'--out must end in one of {OUT_FORMATS}, got '
                         f'{args.out!r}')
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not '
                                'exist')
    cfg = load_config(args.config)
    if args.data_root is not None:
        resolve_num_classes(cfg, root_classes(args.data_root))
    model = init_model(cfg, args.checkpoint, device=args.device)
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
