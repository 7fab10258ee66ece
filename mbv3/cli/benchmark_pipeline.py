"""Data-pipeline throughput of a config's training pipeline on real photos.

    python -m mbv3.cli.benchmark_pipeline \
        configs/mobilenet_v3/mobilenet-v3-small_8xb128_in1k.py --workers 0 1 2

Writes scikit-image's bundled photos (astronaut 512x512, chelsea 300x451,
coffee 400x600, rocket 427x640; ImageNet's mean is about 400x350) as JPEGs
into a temporary ImageNet-layout folder, then prints:

* the milliseconds per image of the config's training pipeline next to
  torchvision's tensor path (``torchvision.io.decode_image`` then
  ``transforms.v2`` ``RandomResizedCrop(224)`` and a horizontal flip on
  the tensor: the fine-tune recipe's augmentation), measured interleaved
  in this process;
* the main process's CPU time to receive a batch of 224x224 images from a
  loader worker, per image, for mmengine's ``pseudo_collate`` and mbv3's
  ``collate_batch``;
* for each number of loader workers, the images per second that decoding
  plus the pipeline deliver (0 workers: the main process alone, i.e. one
  worker's rate), and the same for the pipeline cut after each step.
  Divide the img/s one GPU trains at by the per-worker rate to size
  ``num_workers``.

``--out JSON`` also writes the first two (``ms_per_image``: ``config``,
``torchvision``; ``receive_ms_per_image``: ``pseudo_collate``,
``collate_batch``), with ``config`` and ``machine``: docs/training.md
quotes them (:mod:`mbv3.reports.doc_figures`).
"""
import argparse
import glob
import itertools
import json
import os
import statistics
import tempfile
import time

import cv2
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

from mbv3.datasets import collate_batch
from mbv3.deploy.timing import interleave, seconds_per_call
from mbv3.engine.hooks.results import machine
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


def ms_per_image(fns: dict, images: int = 64, rounds: int = 5) -> dict:
    """Median milliseconds per image of each ``fn(path)``, interleaved
    (:func:`~mbv3.deploy.timing.interleave`), each cycling over ``paths``.
    ``fns`` maps a name to ``(fn, paths)``."""
    cycles = {name: itertools.cycle(paths) for name, (_, paths) in
              fns.items()}
    calls = {name: (lambda _, f=fn, c=cycles[name]: f(next(c)))
             for name, (fn, _) in fns.items()}
    times = interleave(calls, None, iters=images, rounds=rounds, warmup=8,
                       pause=0.0)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def torchvision_tensor_path():
    """torchvision's reading of one file: ``decode_image`` to an RGB
    tensor, then ``RandomResizedCrop(224)`` and a horizontal flip on it."""
    from torchvision.io import ImageReadMode, decode_image, read_file
    from torchvision.transforms import v2
    augment = v2.Compose([v2.RandomResizedCrop(224),
                          v2.RandomHorizontalFlip()])
    return lambda path: augment(decode_image(read_file(path),
                                             mode=ImageReadMode.RGB))


class _Packed224(torch.utils.data.Dataset):
    """What ``PackInputs`` returns for a 224x224 photo, ready-made."""

    def __init__(self, length: int):
        from mbv3.structures import DataSample
        self.length = length
        self.sample = DataSample(metainfo=dict(
            img_path='data/my_images/train/n0/0.JPEG', ori_shape=(410, 460),
            img_shape=(224, 224))).set_gt_label(0)
        self.image = torch.zeros((3, 224, 224), dtype=torch.uint8)

    def __len__(self):
        return self.length

    def __getitem__(self, idx):
        return dict(inputs=self.image.clone(),
                    data_samples=self.sample.clone())


def receive_ms_per_image(collate, batch_size: int, batches: int = 20
                         ) -> float:
    """CPU milliseconds the main process's thread spends per 224x224 image
    receiving batches from one loader worker (unpickling what ``collate``
    built there)."""
    loader = DataLoader(_Packed224(batch_size * (batches + 2)),
                        batch_size=batch_size, num_workers=1,
                        collate_fn=collate, prefetch_factor=batches + 2)
    batches_in = iter(loader)
    next(batches_in)
    time.sleep(1.0)  # the worker fills the queue: only receiving is timed
    begin = time.thread_time()
    count = sum(len(batch['inputs']) for batch in batches_in)
    return 1000 * (time.thread_time() - begin) / count


@command
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--copies', type=int, default=64,
                        help='copies of each of the 4 photos')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--out', help='write the per-image costs as JSON')
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
    cfg = read_config(args.config)
    pipeline = cfg.train_dataloader.dataset.pipeline
    with tempfile.TemporaryDirectory() as root:
        write_photos(root, args.copies)

        def dataset(steps):
            return DATASETS.build(dict(type='CustomDataset', data_root=root,
                                       data_prefix='train',
                                       pipeline=steps))

        paths = sorted(glob.glob(os.path.join(root, 'train', 'n0', '*')))
        compose = dataset(pipeline).pipeline
        cost = ms_per_image({
            'config': (lambda path: compose(dict(img_path=path,
                                                 gt_label=0)), paths),
            'torchvision': (torchvision_tensor_path(), paths)})
        print('ms per image, one process, interleaved (median of 5 rounds):')
        print(f'  config training pipeline        {cost["config"]:7.3f}')
        print(f'  torchvision decode_image + v2   {cost["torchvision"]:7.3f}'
              f'  (RandomResizedCrop 224 + flip on the tensor)')
        print(f'  ratio config / torchvision      '
              f'{cost["config"] / cost["torchvision"]:7.2f}')
        print('main-process CPU ms per 224x224 image received from a '
              'worker:')
        receive = {}
        for name, collate in (('pseudo_collate', pseudo_collate),
                              ('collate_batch', collate_batch)):
            receive[name] = receive_ms_per_image(collate, args.batch_size)
            print(f'  {name:<15} {receive[name]:7.4f}')
        if args.out:
            with open(args.out, 'w', encoding='utf-8') as f:
                json.dump(dict(config=os.path.basename(args.config),
                               machine=machine(), ms_per_image=cost,
                               receive_ms_per_image=receive), f, indent=1)
                f.write('\n')
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
