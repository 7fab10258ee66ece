"""The one timing loop of mbv3's benchmarks and reports."""
import time
from typing import Callable, Optional

import torch


def seconds_per_call(fn: Callable[[], object], iters: int = 1,
                     device: Optional[torch.device] = None) -> float:
    """Mean wall time of ``fn()`` over ``iters`` back-to-back calls.

    On a CUDA ``device`` the calls are timed with CUDA events (the queued
    kernels included); otherwise with ``time.perf_counter``.

    Args:
        fn (Callable): Called with no arguments.
        iters (int): Calls timed together, >= 1.
        device (torch.device | str, optional): Where ``fn`` runs.

    Returns:
        float: Seconds per call.
    """
    device = torch.device(device or 'cpu')
    if device.type == 'cuda':
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        torch.cuda.synchronize(device)
        return start.elapsed_time(end) / 1000 / iters
    begin = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - begin) / iters
