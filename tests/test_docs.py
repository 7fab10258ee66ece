"""The newcomer check: the commands and Python blocks of README.md and
docs/*.md run as written (tools/check_docs.py)."""
import os

import pytest

from tests.conftest import REPO, load_docs_checker

checker = load_docs_checker()

DOC = '''# Title

```bash
pip install -e ".[dev]"
```

<!-- docs-check: slow -->
```bash
python tools/train.py x.py
```

<!-- docs-check: skip needs a GPU -->
```python
import torch
```

```text
not run
```

```python
print(1)
```
'''


def test_parse_blocks_modes_and_lines():
    blocks = checker.parse_blocks(DOC, 'x.md')
    assert [(b.line, b.lang, b.mode, b.reason) for b in blocks] == [
        (3, 'bash', 'run', ''), (8, 'bash', 'slow', ''),
        (13, 'python', 'skip', 'needs a GPU'), (21, 'python', 'run', '')
    ]
    assert blocks[3].code == 'print(1)\n'
    done = set()
    assert checker.skip_reason(blocks[0], True, done) == checker.PIP_REASON
    assert checker.skip_reason(blocks[1], False, done).startswith('slow')
    assert checker.skip_reason(blocks[1], True, done) is None
    assert checker.skip_reason(blocks[2], True, done) == 'needs a GPU'
    done.add((blocks[3].lang, blocks[3].code))
    assert 'identical' in checker.skip_reason(blocks[3], False, done)


def test_parse_blocks_errors():
    with pytest.raises(ValueError, match='x.md:1: code fence is never '
                       'closed'):
        checker.parse_blocks('```bash\nls\n', 'x.md')
    with pytest.raises(ValueError, match='x.md:1: a docs-check marker must '
                       'be on the line just before a code fence'):
        checker.parse_blocks('<!-- docs-check: slow -->\ntext\n', 'x.md')
    with pytest.raises(ValueError, match='x.md:1: docs-check skip needs a '
                       'reason'):
        checker.parse_blocks('<!-- docs-check: skip -->\n```bash\nls\n```\n',
                             'x.md')


def test_without_pip_keeps_other_lines():
    code = 'pip install -e .\npython a.py\n  pip install x\nls\n'
    assert checker.without_pip(code) == 'python a.py\nls\n'


def test_docs_are_found_and_marked():
    files = checker.doc_files(REPO)
    assert files[0] == 'README.md'
    assert 'docs/quickstart.md' in files and 'docs/tools.md' in files
    blocks = [b for f in files for b in checker.parse_blocks(
        open(os.path.join(REPO, f), encoding='utf-8').read(), f)]
    # every block that reads the trained digits model waits for --slow
    for block in blocks:
        if 'work_dirs/' in block.code or 'data/digits' in block.code:
            assert block.mode in ('slow', 'skip'), (block.path, block.line)


def test_quick_blocks_run(capsys):
    failed = checker.check(checker.doc_files(REPO), slow=False)
    out = capsys.readouterr().out
    assert failed == 0, out
    assert 'README.md:' in out and ' ok (' in out


@pytest.mark.docs_slow
def test_every_block_runs(capsys):
    # Trains the README's digits model once (about 2.5 min on 2 idle cores)
    # and runs every command that uses it, the segmentation training, the
    # benchmarks and the reliability report: longer than the suite's
    # 10-minute budget, so pytest.ini deselects it; run it with
    # `python -m pytest -m docs_slow tests/test_docs.py` or
    # `python tools/check_docs.py --slow`.
    failed = checker.check(checker.doc_files(REPO), slow=True)
    out = capsys.readouterr().out
    assert failed == 0, out
    assert 'FAILED' not in out
