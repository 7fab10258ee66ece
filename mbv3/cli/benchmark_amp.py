"""Training-step speed of fp32 against autocast bf16 (and fp16 with CUDA),
measured side by side in one process.

    python -m mbv3.cli.benchmark_amp --arch small \
        --batch-size 8 --size 32

Prints seconds per forward+backward step of the MobileNetV3 backbone and
each dtype's speed relative to fp32 (> 1 is faster).
"""
import argparse

import torch

from mbv3.deploy.timing import seconds_per_call
from mbv3.models import MobileNetV3
from ._command import command


def seconds_per_step(model, batch, dtype, steps: int) -> float:
    device = batch.device.type

    def step():
        with torch.autocast(device, dtype=dtype or torch.bfloat16,
                            enabled=dtype is not None):
            loss = model(batch)[-1].float().mean()
        loss.backward()

    step()  # warm-up
    return seconds_per_call(step, steps, batch.device)


@command
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', default='small')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--size', type=int, default=32, help='pixels')
    parser.add_argument('--steps', type=int, default=3)
    args = parser.parse_args(argv)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    model = MobileNetV3(args.arch).to(device).train()
    batch = torch.rand(args.batch_size, 3, args.size, args.size,
                       device=device)
    dtypes = [None, torch.bfloat16]
    if device == 'cuda':
        dtypes.append(torch.float16)
    base = None
    for dtype in dtypes:
        seconds = seconds_per_step(model, batch, dtype, args.steps)
        base = base or seconds
        name = 'fp32' if dtype is None else str(dtype).split('.')[-1]
        print(f'{device} {name:<9} {seconds:8.4f} s/step  '
              f'speed x{base / seconds:.2f}')


if __name__ == '__main__':
    from mbv3.cli import run
    run('benchmark_amp')
