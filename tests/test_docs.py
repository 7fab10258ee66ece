"""The newcomer check: the commands and Python blocks of README.md and
docs/*.md run as written (tools/check_docs.py)."""
import os
import re
import subprocess
import sys

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


def test_readme_is_the_front_door():
    with open(os.path.join(REPO, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    assert len(readme.splitlines()) <= 200
    blocks = checker.parse_blocks(readme, 'README.md')
    example = next(b for b in blocks if b.lang == 'python')
    # a backbone example, run by the docs check, on the first screen
    assert example.line <= 40 and example.mode == 'run'
    assert 'MobileNetV3(arch=' in example.code
    assert len(checker.printed_expectations(example.code)) >= 1
    commands = [b.code.strip() for b in blocks if b.lang == 'bash']
    assert commands[0] == 'pip install -e ".[dev]"'
    assert 'python tools/train.py configs/mobilenet_v3/' \
        'mobilenet-v3-small_digits.py' in commands
    # the test command is the one CI runs
    assert 'python -m pytest -q' in commands
    with open(os.path.join(REPO, '.ci', 'run'), encoding='utf-8') as f:
        assert re.search(r'^run_pytest python -m pytest -q \|\|', f.read(),
                         re.M)
    # every docs page is linked from the README, and every link resolves
    linked = set(re.findall(r'\]\((docs/[\w.-]+\.md)(?:#[\w-]+)?\)', readme))
    pages = {f for f in checker.doc_files(REPO) if f.startswith('docs/')}
    assert linked == pages


def test_quick_blocks_run(capsys):
    files = checker.doc_files(REPO)
    blocks = [b for f in files for b in checker.parse_blocks(
        open(os.path.join(REPO, f), encoding='utf-8').read(), f)]
    failed = checker.check(files, slow=False)
    out = capsys.readouterr().out
    assert failed == 0, out
    assert 'README.md:' in out and ' ok (' in out
    # every config fragment was built, not just executed
    # (those on the frameworks' own base configs are skipped here and run
    # by tests/integration)
    fragments = [b for b in blocks if b.mode == 'config']
    assert len(fragments) >= 3
    for block in fragments:
        assert f'{block.path}:{block.line} [python] ok' in out
    built = [line for line in out.splitlines()
             if ' [python] ok (' in line and re.search(
                 r': (built |registered: |in mbv3.s weights registry)', line)]
    assert len(built) == len(fragments)
    # and every output shown under a print() was compared
    shown = sum(len(checker.printed_expectations(b.code)) for b in blocks
                if b.lang == 'python' and b.mode == 'run')
    assert shown >= 6
    compared = re.findall(r' ok \([\d.]+ s\), (\d+) printed output\(s\) '
                          r'as shown', out)
    assert sum(map(int, compared)) == shown


def test_config_fragment_detection():
    assert checker.is_config_fragment("model = dict(type='X')\nx = 1\n")
    assert not checker.is_config_fragment('import torch\nx = 1\n')
    assert not checker.is_config_fragment('x = 1\nprint(x)\n')


FRAGMENT = """custom_imports = dict(imports=['mbv3'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type='mbv3.MobileNetV3', arch='small',
                  out_indices=(3, 8, 11)),
    neck=dict(in_channels={}, start_level=0))
"""


def test_build_config_checks_in_channels(tmp_path):
    good = tmp_path / 'good.py'
    good.write_text(FRAGMENT.format([24, 48, 96]))
    assert checker.build_config(str(good)) == [
        'built mbv3.MobileNetV3: out_channels [24, 48, 96]',
        'neck.in_channels match: [24, 48, 96]']
    bad = tmp_path / 'bad.py'
    bad.write_text(FRAGMENT.format([24, 48, 97]))
    with pytest.raises(ValueError, match=r'neck.in_channels is \[24, 48, '
                       r'97\], but the backbone gives \[24, 48, 96\]'):
        checker.build_config(str(bad))
    empty = tmp_path / 'empty.py'
    empty.write_text('x = 1\n')
    with pytest.raises(ValueError, match='defines no model backbone'):
        checker.build_config(str(empty))


def test_printed_output_is_compared(tmp_path):
    code = ("for i in range(2):\n"
            "    print(i, i * 2)\n"
            "    # {}\n"
            "print('done')\n")
    ok, output = checker.run_block(
        checker.Block('x.md', 1, 'python', code.format('0 0'), 'run', ''),
        str(tmp_path), timeout=60)
    assert not ok
    assert "line 2: printed ('0 0', '1 2'), the block shows ('0 0',)" \
        in output
    shown = code.replace('    # {}\n', '    # 0 0\n    # 1 2\n')
    assert checker.run_block(
        checker.Block('x.md', 1, 'python', shown, 'run', ''),
        str(tmp_path), timeout=60)[0]


def test_not_slow_still_skips_docs_slow():
    # the README's `-m "not slow"` must not bring the docs_slow test back
    out = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-rs', '-m', 'not slow',
         'tests/test_docs.py::test_every_block_runs'],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:]
    assert '1 skipped' in out.stdout
    assert 'docs_slow: run with --docs-slow' in out.stdout


@pytest.mark.docs_slow
def test_every_block_runs(capsys):
    # Trains the README's digits model once (about 2.5 min on 2 idle cores)
    # and runs every command that uses it, the segmentation training, the
    # benchmarks and the reliability tests: longer than the suite's
    # 10-minute budget, so conftest.py skips it; run it with
    # `python -m pytest --docs-slow tests/test_docs.py` or
    # `python tools/check_docs.py --slow`.
    failed = checker.check(checker.doc_files(REPO), slow=True)
    out = capsys.readouterr().out
    assert failed == 0, out
    assert 'FAILED' not in out
