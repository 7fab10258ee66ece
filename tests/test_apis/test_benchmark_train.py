"""benchmark_train on CPU: a real short run of the digits recipe (its
pipeline, model, optimizer and hooks) and of the trivial model."""
import json

import pytest

from mbv3.apis.benchmark_train import PHASES
from mbv3.cli.benchmark_train import format_report, main
from mbv3.deploy.malloc import tune_allocator
from mbv3.reports.doc_figures import benchmark_train
from tests.conftest import DIGITS_CONFIG, data_root_options


def test_split_end_to_end_and_fixed_cost_in_one_run(digits_subset, tmp_path,
                                                    one_thread, capsys):
    out = tmp_path / 'bench.json'
    # the subset, already written: nothing to prepare
    options = [o for o in data_root_options(digits_subset[0])
               if not o.startswith('data_preparation')]
    results = main([DIGITS_CONFIG, '--iters', '2', '--warmup', '1',
                    '--threads', '1', '--out', str(out), '--cfg-options',
                    *options, 'data_preparation=None'])
    assert json.loads(out.read_text()) == results
    assert results['config'] == 'mobilenet-v3-small_digits.py'
    assert (results['device'], results['batch_size'], results['iters'],
            results['optimizer_groups']) == ('cpu', 64, 2, 2)
    for run in (results, results['fixed_cost']):
        split = run['split_ms']
        assert sorted(split) == sorted(PHASES)
        # every named phase took time; what is left ('other': autocast
        # set-up, loss parsing, the loop) is not negative: no phase is
        # counted twice, and the phases add up to the measured iteration
        assert all(split[phase] > 0 for phase in PHASES if phase != 'other')
        assert split['other'] >= 0
        assert sum(split.values()) == pytest.approx(run['iteration_ms'])
    fixed = results['fixed_cost']
    assert fixed['outside_data_wait_ms'] == pytest.approx(
        fixed['iteration_ms'] - fixed['split_ms']['data_wait'])
    assert results['end_to_end_img_per_s'] > 0
    assert results['model_only_img_per_s'] > 0
    assert results['machine'] and results['threads'] == 1
    # the allocator tools/train.py runs with (mbv3.deploy.malloc)
    assert results['allocator'] == tune_allocator()
    printed = capsys.readouterr().out
    assert format_report(results) in printed
    # the printed count is the recorded one (a 2-iteration run is too short
    # for a bound: the heap still grows, 0-1,126 faults seen here)
    assert f"\n{results['page_faults_per_iter']:.0f} minor page faults per " \
        f"iteration; allocator: {results['allocator']}\n" in printed + '\n'
    section = benchmark_train(results)
    assert 'not measured on a GPU yet' in section
    assert '--device cuda' in section
