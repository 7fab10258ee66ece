"""The one timing loop of mbv3's benchmarks and reports."""
import functools
import random
import time
from typing import Callable, Dict, List, Optional, Tuple

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


def timed_call(fn: Callable, *args, device: Optional[torch.device] = None,
               **kwargs) -> Tuple[object, float]:
    """``fn(*args, **kwargs)`` and its wall time in seconds.

    On a CUDA ``device`` the device is synchronised before and after, so
    the time holds the kernels ``fn`` queued (and that sync's cost);
    otherwise it is one ``time.perf_counter`` difference.

    Returns:
        tuple: ``fn``'s result, seconds.
    """
    cuda = device is not None and torch.device(device).type == 'cuda'
    if cuda:
        torch.cuda.synchronize(device)
    begin = time.perf_counter()
    result = fn(*args, **kwargs)
    if cuda:
        torch.cuda.synchronize(device)
    return result, time.perf_counter() - begin


def interleave(fns: Dict[str, Callable], x, iters: int, rounds: int,
               warmup: int, device: Optional[torch.device] = None,
               settle: int = 1, pause: float = 0.05
               ) -> Dict[str, List[float]]:
    """Seconds per call of every ``fn(x)``, round by round.

    After ``warmup`` calls of each, every round times ``iters`` calls of
    every candidate in turn (:func:`seconds_per_call`), in the given order
    in round 0 and in a seeded shuffle of it in the later rounds, so that
    load from other processes falls on all alike and no candidate always
    follows the same one. Before each timed block the loop sleeps
    ``pause`` seconds (the thread pools of the candidate before, e.g.
    onnxruntime's spinning workers, go idle) and makes ``settle`` untimed
    calls of the candidate (its data back in the caches): a candidate does
    not pay for its neighbour.

    Returns:
        dict[str, list[float]]: ``rounds`` samples per candidate.
    """
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            fns[name](x)
    times = {name: [] for name in names}
    order = random.Random(0)
    for r in range(rounds):
        for name in names if r == 0 else order.sample(names, len(names)):
            time.sleep(pause)
            for _ in range(settle):
                fns[name](x)
            times[name].append(seconds_per_call(
                functools.partial(fns[name], x), iters, device))
    return times
