"""The reliability report (mbv3.cli.reliability_report): its counts, its
report, and an exit status that fails when a case is not survived."""
import json

import pytest

from tests.conftest import run_tool


def counts(kill_ok=1, fuzz_outcomes=None):
    return dict(
        kills=1, fuzz=3,
        faults=[['damaged checkpoints x loading paths', 16, 16],
                ['kill -9 at a random moment, resumed', kill_ok, 1]],
        nothing_lost=[kill_ok, 1],
        inputs=[['bad image files, error names the file', 4, 4]],
        fuzz_outcomes=fuzz_outcomes or {'ImageDecodeError': 3})


@pytest.mark.parametrize('case,named', [
    (counts(), []),
    (counts(kill_ok=0), ['kill -9 at a random moment, resumed: 0/1']),
    (counts(fuzz_outcomes={'ImageDecodeError': 2, 'other exception': 1}),
     ['fuzzed image bytes: 1 x other exception']),
])
def test_exit_status_names_what_was_not_survived(case, named, monkeypatch,
                                                 capsys):
    from mbv3.cli import reliability_report as script
    monkeypatch.setattr(script, 'run_cases', lambda kills, fuzz: case)
    if named:
        with pytest.raises(SystemExit) as done:
            script.main([])
        assert done.value.code == 1
    else:
        assert script.main([]) is case
    captured = capsys.readouterr()
    assert captured.out.startswith('faults injected: 17, survived: '
                                   f'{16 + case["faults"][1][1]}\n')
    assert [line for line in captured.err.splitlines()
            if line.startswith('NOT SURVIVED')] == [
                f'NOT SURVIVED: {n}' for n in named]


@pytest.mark.slow
def test_small_run_survives_everything(tmp_path):
    out_json = tmp_path / 'r.json'
    proc = run_tool('analysis_tools/reliability_report.py', '--kills', '1',
                    '--fuzz', '20', '--json', str(out_json), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out_json.read_text())
    assert results['report'] in proc.stdout
    # the checkpoint cases, each damage through each loading path
    assert results['faults'][0] == ['damaged checkpoints x loading paths',
                                    16, 16]
    assert results['nothing_lost'] == [3, 3]  # 2 signals + 1 kill
    assert sum(results['fuzz_outcomes'].values()) == 20
