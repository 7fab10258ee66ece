"""The reliability matrix of ``docs/reliability.md``: one row per kind of
fault or hostile input, its cases and how many were survived, from the
outcomes ``pytest --reliability-json PATH`` records for the tests marked
``reliability(kind=..., case=...)``."""
from collections import Counter
from typing import Dict, List

RELIABILITY_JSON = 'docs/results/reliability.json'


def reliability_matrix(results: dict) -> str:
    """The matrix as a Markdown table, kinds in alphabetical order (case
    ignored).

    A case counts as survived when its test passed; a skipped test (e.g.
    a slow one left out of the run that recorded the JSON) is listed as
    not run.

    Args:
        results (dict): ``{'cases': [{'kind', 'case', 'test',
            'outcome'}, ...]}`` as the pytest option writes it.

    Returns:
        str: The table, then a line with the totals.
    """
    kinds: Dict[str, List[dict]] = {}
    for record in results['cases']:
        kinds.setdefault(record['kind'], []).append(record)
    lines = ['| kind | cases | survived |', '| --- | --- | --- |']
    survived = tried = 0
    for kind in sorted(kinds, key=str.lower):
        cases = kinds[kind]
        run = [c for c in cases if c['outcome'] != 'skipped']
        passed = sum(c['outcome'] == 'passed' for c in run)
        survived, tried = survived + passed, tried + len(run)
        lines.append(f'| {kind} | {_case_names(cases)} | '
                     f'{passed}/{len(run)} |')
    lines += ['', f'{survived} of {tried} cases survived, in '
              f'{len(kinds)} kinds (`{RELIABILITY_JSON}`).']
    return '\n'.join(lines)


def _case_names(cases: List[dict]) -> str:
    """The distinct case names, sorted; ``(xN)`` for a case of N tests
    (parametrized), ``(not run)`` for a skipped one."""
    counts = Counter(c['case'] for c in cases)
    skipped = {c['case'] for c in cases if c['outcome'] == 'skipped'}
    return '; '.join(
        name + (f' (x{counts[name]})' if counts[name] > 1 else '') +
        (' (not run)' if name in skipped else '')
        for name in sorted(counts, key=str.lower))
