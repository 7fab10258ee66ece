import re

import pytest

from mbv3.cli.benchmark import main
from mbv3.cli.benchmark import parse_args as parse_benchmark_args
from mbv3.deploy import timing
from mbv3.deploy.benchmark import best, summarize


def test_interleave_shuffles_the_order_and_divides_by_calls(monkeypatch):
    calls = []
    fns = {name: (lambda x, n=name: calls.append(n)) for name in 'abcd'}
    ticks = iter(range(1000))
    # a fake clock that advances one second per reading
    monkeypatch.setattr(timing.time, 'perf_counter', lambda: next(ticks))
    times = timing.interleave(fns, None, iters=2, rounds=6, warmup=1,
                              pause=0)
    assert calls[:4] == ['a', 'b', 'c', 'd']  # warm-up
    # each timed block: one untimed settle call, then two timed calls
    blocks = [calls[4 + 3 * i:7 + 3 * i] for i in range(24)]
    assert all(len(set(block)) == 1 for block in blocks)
    rounds = [[block[0] for block in blocks[4 * r:4 * r + 4]]
              for r in range(6)]
    assert rounds[0] == ['a', 'b', 'c', 'd']
    assert all(sorted(order) == ['a', 'b', 'c', 'd'] for order in rounds)
    # no candidate always follows the same one
    before = {}
    for order in rounds:
        for prev, name in zip(order, order[1:]):
            before.setdefault(name, set()).add(prev)
    assert all(len(prevs) > 1 for prevs in before.values())
    # each timing spans two clock readings (1 s) over 2 calls
    assert times == {name: [0.5] * 6 for name in 'abcd'}


def test_summarize_medians_throughput_and_ratios():
    times = {'torchvision eager': [0.020, 0.030, 0.010],
             'mbv3 onnxruntime fp32': [0.006, 0.004, 0.005],
             'mbv3 eager': [0.021, 0.019, 0.040]}
    rows = summarize(times, batch=32, baseline_s=0.020)
    assert rows['torchvision eager'] == dict(latency_ms=20.0, img_s=1600.0,
                                             ratio=1.0)
    assert rows['mbv3 onnxruntime fp32']['latency_ms'] == pytest.approx(5.0)
    assert rows['mbv3 onnxruntime fp32']['img_s'] == pytest.approx(6400.0)
    assert rows['mbv3 onnxruntime fp32']['ratio'] == pytest.approx(4.0)
    assert rows['mbv3 eager']['ratio'] == pytest.approx(0.020 / 0.021)
    assert best(rows, ['mbv3 eager', 'mbv3 onnxruntime fp32',
                       'mbv3 openvino fp32'])[0] == 'mbv3 onnxruntime fp32'


def test_onnx_threads_default_is_two_as_documented():
    assert parse_benchmark_args([]).onnx_threads == 2
    assert parse_benchmark_args(['--onnx-threads', '1']).onnx_threads == 1


def test_benchmark_smoke_prints_its_ratios(capsys):
    results = main(['--arch', 'small', '--size', '32', '--iters', '1',
                    '--rounds', '2', '--warmup', '0', '--deploy', '--onnx',
                    '--onnx-threads', '1', '--malloc', 'default'])
    out = capsys.readouterr().out
    assert 'allocator: default (switched off: mode=default)' in out
    assert 'onnx_threads=1' in out
    assert set(results) == {
        'mbv3 eager', 'torchvision eager', 'timm eager',
        'mbv3 deploy (fused + channels_last)', 'mbv3 onnxruntime'}
    for name in ('mbv3 eager', 'timm eager', 'mbv3 onnxruntime'):
        printed = re.search(rf'ratio {name} / torchvision eager: (\S+)x',
                            out).group(1)
        assert printed == f"{results[name]['ratio']:.2f}"


def test_benchmark_train_with_cp_saves_memory(capsys):
    results = main(['--arch', 'small', '--size', '32', '--batch', '2',
                    '--mode', 'train', '--with-cp', '--iters', '1',
                    '--rounds', '1', '--warmup', '0', '--malloc', 'default'])
    assert 'ratio mbv3 eager with_cp / torchvision eager' in \
        capsys.readouterr().out
    # with_cp keeps only each bneck's input for backward (about 0.6x here,
    # where the stem, last conv and head are not checkpointed)
    assert results['mbv3 eager with_cp']['memory_mb'] < \
        0.8 * results['mbv3 eager']['memory_mb']


def test_suite_times_each_paths_first_call_before_its_warm_up(monkeypatch):
    from mbv3.deploy import benchmark
    calls = []
    paths = {name: dict(fn=lambda x, n=name: calls.append((n, len(x))),
                        batches=batches)
             for name, batches in (('a', (1, 32)), ('b', (1, )))}
    monkeypatch.setattr(benchmark, 'timed_call',
                        lambda fn, x: (fn(x), 7.0 * len(x)))
    times, first = benchmark._time_batches(
        paths, 8, {1: (1, 2, 1), 32: (1, 2, 1)}, 'default')
    assert first == {1: {'a': 7.0, 'b': 7.0}, 32: {'a': 224.0}}
    assert set(times[1]) == {'a', 'b'} and set(times[32]) == {'a'}
    # batch 1: the first calls, then interleave's warm-up of each
    assert calls[:4] == [('a', 1), ('b', 1), ('a', 1), ('b', 1)]
    # 2 x (settle, timed) per path at batch 1; batch 32: the first call,
    # the warm-up, 2 x (settle, timed)
    assert len(calls) == 4 + 2 * 2 * 2 + 6
    assert calls[12:] == [('a', 32)] * 6
