"""Data-pipeline throughput of a config's training pipeline on real photos.

    python -m mbv3.cli.benchmark_pipeline \
        configs/mobilenet_v3/mobilenet-v3-small_8xb128_in1k.py --workers 0 1 2

Writes scikit-image's bundled photos (astronaut 512x512, chelsea 300x451,
coffee 400x600, rocket 427x640; ImageNet's mean is about 400x350) as JPEGs
into a temporary ImageNet-layout folder, then prints, for each number of
loader workers, the images per second that decoding plus the pipeline
deliver (0 workers: the main process alone, i.e. one worker's rate), and
the same for the pipeline cut after each step. Divide the img/s one GPU
trains at by the per-worker rate to size ``num_workers``.
"""
import argparse
import os
import tempfile

import cv2
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

from mbv3.engine.mmengine_patches import apply_mmengine_fixes
from mbv3.deploy.timing import seconds_per_call
from mbv3.registry import DATASETS
from mbv3.utils.checks import check_int
from mbv3.utils.config_files import read_config
from ._command import add_command_args, command


def write_photos(root: str, copies: int) -> None:
    from skimage import data
    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    os.makedirs(os.path.join(root, 'train', 'n0'))
    for i in range(copies):
        for j, photo in enumerate(photos):
            cv2.imwrite(os.path.join(root, 'train', 'n0', f'{i}_{j}.JPEG'),
                        photo[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])


def images_per_second(dataset, workers: int, batch_size: int) -> float:
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers,
                        collate_fn=pseudo_collate, shuffle=False)
    batches = iter(loader)
    next(batches)  # start the workers, warm caches
    counts = []
    seconds = seconds_per_call(
        lambda: counts.extend(len(batch['inputs']) for batch in batches))
    return sum(counts) / seconds


@command
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--copies', type=int, default=64,
                        help='copies of each of the 4 photos')
    parser.add_argument('--batch-size', type=int, default=32)
    add_command_args(parser)
    args = parser.parse_args(argv)
    check_int('--batch-size', args.batch_size, low=1)
    if 4 * args.copies < 2 * args.batch_size:
        raise ValueError(f'--copies {args.copies} writes {4 * args.copies} '
                         f'images, fewer than two batches of --batch-size '
                         f'{args.batch_size} (the first warms the loader up '
                         f'and is not timed): use --copies >= '
                         f'{(args.batch_size + 1) // 2}')
    init_default_scope('mbv3')
    # a loader worker runs torch ops on one thread; so does the main
    # process here, so that workers=0 measures one worker's rate
    torch.set_num_threads(1)
    apply_mmengine_fixes()
    cfg = read_config(args.config)
    pipeline = cfg.train_dataloader.dataset.pipeline
    with tempfile.TemporaryDirectory() as root:
        write_photos(root, args.copies)

        def dataset(steps):
            return DATASETS.build(dict(type='CustomDataset', data_root=root,
                                       data_prefix='train',
                                       pipeline=steps))

        print(f'{4 * args.copies} JPEGs; img/s, one process, pipeline cut '
              'after each step:')
        for end in range(1, len(pipeline)):
            steps = list(pipeline[:end]) + [pipeline[-1]]
            rate = images_per_second(dataset(steps), 0, args.batch_size)
            print(f'  ... {steps[-2]["type"]:<20} {rate:8.1f}')
        print('full pipeline, img/s by loader workers:')
        for workers in args.workers:
            rate = images_per_second(dataset(pipeline), workers,
                                     args.batch_size)
            print(f'  workers={workers:<3} {rate:8.1f}')


if __name__ == '__main__':
    from mbv3.cli import run
    run('benchmark_pipeline')
