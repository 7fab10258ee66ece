"""The reliability matrix of docs/reliability.md, generated from the
outcomes the marked tests record (``--reliability-json``)."""
import json
import os

from mbv3.reports.reliability import RELIABILITY_JSON, reliability_matrix
from tests.conftest import REPO


def record(kind, case, outcome='passed'):
    return dict(kind=kind, case=case, test=f'tests/x.py::{case}',
                outcome=outcome)


def test_matrix_counts_survived_cases_per_kind():
    results = dict(cases=[
        record('kill -9', 'resumed'),
        record('bad image file', 'text.jpg', 'failed'),
        record('bad image file', 'empty.png'),
        record('bad image file', 'slow one', 'skipped'),
        record('NaN loss', 'stop'), record('NaN loss', 'stop'),
    ])
    assert reliability_matrix(results) == (
        '| kind | cases | survived |\n'
        '| --- | --- | --- |\n'
        '| bad image file | empty.png; slow one (not run); text.jpg | 1/2 |\n'
        '| kill -9 | resumed | 1/1 |\n'
        '| NaN loss | stop (x2) | 2/2 |\n'
        '\n'
        '4 of 5 cases survived, in 3 kinds '
        '(`docs/results/reliability.json`).')


def test_recorded_run_survived_every_case():
    with open(os.path.join(REPO, RELIABILITY_JSON), encoding='utf-8') as f:
        cases = json.load(f)['cases']
    assert [c['test'] for c in cases if c['outcome'] != 'passed'] == []
    # the kinds of issue 23's files and of the former report
    assert {'special file in an image folder', 'decompression bomb',
            'full disk', 'work dir', 'damaged checkpoint', 'kill -9',
            'NaN loss', 'signal mid-epoch'} <= {c['kind'] for c in cases}
