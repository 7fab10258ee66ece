"""Run every ```bash and ```python block of README.md and docs/*.md.

    python tools/check_docs.py            # the quick blocks
    python tools/check_docs.py --slow     # every block, training included

The blocks run as written, in order (README.md first, then docs/*.md by
name), in one scratch copy of the repository, so the data, checkpoints and
files a command writes are there for the commands after it and the
checkout is left untouched. ``bash`` blocks run with ``bash -e -o
pipefail``, ``python`` blocks as a script; both from the copy's root with
the copy's ``mbv3`` first on ``PYTHONPATH``.

A comment on the line before a block's opening fence changes how it runs:

* ``<!-- docs-check: slow -->``: run only with ``--slow`` (the training
  run, and every block that needs its checkpoint);
* ``<!-- docs-check: skip REASON -->``: never run; the reason is printed.

Lines starting with ``pip install`` are always skipped: the check runs in
the environment they would change, which ``.ci/run`` installs exactly as
the README says. A block identical to one that already passed in this
copy (the quickstart repeats the README's training command) is not run
twice.
"""
import argparse
import glob
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import List, NamedTuple, Optional

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
FENCE = re.compile(r'^```(\w+)\s*$')
MARKER = re.compile(r'^<!--\s*docs-check:\s*(slow|skip)\b\s*(.*?)\s*-->$')
PIP_REASON = ('pip install changes the environment this check runs in; '
              '.ci/run installs as the README says')
LANGUAGES = ('bash', 'python')


class Block(NamedTuple):
    """A fenced code block to run."""
    path: str  # relative to the repository root
    line: int  # 1-based line of the opening fence
    lang: str  # 'bash' or 'python'
    code: str
    mode: str  # 'run', 'slow' or 'skip'
    reason: str  # why it is skipped ('' otherwise)


def parse_blocks(text: str, path: str) -> List[Block]:
    """The ``bash`` and ``python`` blocks of a Markdown text, in order.

    Raises:
        ValueError: For an unclosed fence or a marker not followed by a
            fence (the message names the file and line).
    """
    lines = text.splitlines()
    blocks = []
    marker, marker_line = None, 0
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        found = MARKER.match(line)
        if found:
            marker, marker_line = found, i + 1
            i += 1
            continue
        fence = FENCE.match(line)
        if marker is not None and not fence:
            raise ValueError(f'{path}:{marker_line}: a docs-check marker '
                             'must be on the line just before a code fence')
        if not fence and not line.startswith('```'):
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines))
                    if lines[j].strip() == '```'), None)
        if end is None:
            raise ValueError(f'{path}:{i + 1}: code fence is never closed')
        lang = fence.group(1) if fence else ''
        if lang in LANGUAGES:
            mode, reason = 'run', ''
            if marker is not None:
                mode, reason = marker.group(1), marker.group(2)
                if mode == 'skip' and not reason:
                    raise ValueError(f'{path}:{marker_line}: docs-check skip '
                                     'needs a reason')
            blocks.append(Block(path, i + 1, lang,
                                '\n'.join(lines[i + 1:end]) + '\n', mode,
                                reason))
        marker = None
        i = end + 1
    return blocks


def without_pip(code: str) -> str:
    """The bash code without its ``pip install`` lines."""
    return ''.join(line for line in code.splitlines(keepends=True)
                   if not line.lstrip().startswith('pip install'))


def doc_files(root: str) -> List[str]:
    """README.md, then docs/*.md sorted; paths relative to ``root``."""
    docs = sorted(
        osp.relpath(p, root) for p in glob.glob(osp.join(root, 'docs', '*.md')))
    return (['README.md'] if osp.isfile(osp.join(root, 'README.md')) else
            []) + docs


def make_sandbox(root: str) -> str:
    """Copy the files git tracks (or would track) into a fresh folder."""
    out = subprocess.run(
        ['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=root,
        capture_output=True, check=True).stdout.decode()
    sandbox = tempfile.mkdtemp(prefix='mbv3-docs-check-')
    for rel in filter(None, out.split('\0')):
        src = osp.join(root, rel)
        if not osp.isfile(src):
            continue
        dst = osp.join(sandbox, rel)
        os.makedirs(osp.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)
    return sandbox


def run_block(block: Block, sandbox: str,
              timeout: float) -> subprocess.CompletedProcess:
    """Run one block from the sandbox root with its ``mbv3`` first."""
    pythonpath = os.pathsep.join(
        p for p in (sandbox, os.environ.get('PYTHONPATH')) if p)
    env = dict(os.environ, PYTHONPATH=pythonpath, MPLBACKEND='Agg')
    if block.lang == 'bash':
        cmd = ['bash', '-e', '-o', 'pipefail', '-c', without_pip(block.code)]
    else:
        script = osp.join(sandbox, '.docs_check_block.py')
        with open(script, 'w') as f:
            f.write(block.code)
        cmd = [sys.executable, script]
    return subprocess.run(cmd, cwd=sandbox, env=env, capture_output=True,
                          text=True, timeout=timeout)


def skip_reason(block: Block, slow: bool, done: set) -> Optional[str]:
    """Why a block is not run now, or None to run it."""
    if block.mode == 'skip':
        return block.reason
    if block.mode == 'slow' and not slow:
        return 'slow (run with --slow)'
    if block.lang == 'bash' and not without_pip(block.code).strip():
        return PIP_REASON
    if (block.lang, block.code) in done:
        return 'identical to a block that already passed'
    return None


def check(files: List[str], slow: bool = False, root: str = REPO,
          timeout: float = 1200, keep: bool = False, log=print) -> int:
    """Run the blocks of ``files``; return the number that failed."""
    blocks = []
    for rel in files:
        with open(osp.join(root, rel), encoding='utf-8') as f:
            blocks.extend(parse_blocks(f.read(), rel))
    sandbox = make_sandbox(root)
    failed, done = 0, set()
    try:
        for block in blocks:
            where = f'{block.path}:{block.line} [{block.lang}]'
            reason = skip_reason(block, slow, done)
            if reason is not None:
                log(f'{where} skipped: {reason}')
                continue
            start = time.perf_counter()
            try:
                result = run_block(block, sandbox, timeout)
                ok, output = result.returncode == 0, result.stdout + \
                    result.stderr
            except subprocess.TimeoutExpired as err:
                ok, output = False, f'timed out after {timeout} s: {err}'
            took = time.perf_counter() - start
            if ok:
                done.add((block.lang, block.code))
                log(f'{where} ok ({took:.1f} s)')
                continue
            failed += 1
            log(f'{where} FAILED ({took:.1f} s)\n{block.code}'
                f'--- output (last 3000 characters) ---\n{output[-3000:]}')
    finally:
        if keep:
            log(f'scratch copy kept in {sandbox}')
        else:
            shutil.rmtree(sandbox, ignore_errors=True)
    return failed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description='Run the bash and python blocks of the docs')
    parser.add_argument('files', nargs='*',
                        help='Markdown files relative to the repository '
                        'root (default: README.md and docs/*.md)')
    parser.add_argument('--slow', action='store_true',
                        help='also run the blocks marked slow')
    parser.add_argument('--keep', action='store_true',
                        help='keep the scratch copy for inspection')
    parser.add_argument('--timeout', type=float, default=1200,
                        help='seconds per block (default 1200)')
    args = parser.parse_args(argv)
    failed = check(args.files or doc_files(REPO), slow=args.slow,
                   timeout=args.timeout, keep=args.keep)
    print(f'docs check: {failed} block(s) failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
