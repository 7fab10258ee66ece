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

A ``python`` block made only of assignments (``model = dict(...)``) is a
config fragment: instead of running it (which cannot fail), the check
loads it with mmengine's ``Config`` (its ``custom_imports`` included),
builds its backbone through mmengine's registry and requires the
``in_channels`` of its neck, decode head or head to match the backbone's
outputs; a ``runner_type``/``strategy`` must be registered in mmengine,
and every ``mbv3://NAME`` checkpoint must be in mbv3's weights registry.

Comment lines right after a ``print(...)`` statement show what it prints:
the check compares them, line by line, with what the statement printed.

Lines starting with ``pip install`` are always skipped: the check runs in
the environment they would change, which ``.ci/run`` installs exactly as
the README says. A block identical to one that already passed in this
copy (the quickstart repeats the README's training command) is not run
twice.
"""
import argparse
import ast
import glob
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import List, NamedTuple, Optional, Tuple

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
    mode: str  # 'run', 'slow', 'skip' or 'config'
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
            code = '\n'.join(lines[i + 1:end]) + '\n'
            mode, reason = ('config' if lang == 'python' and
                            is_config_fragment(code) else 'run'), ''
            if marker is not None:
                mode, reason = marker.group(1), marker.group(2)
                if mode == 'skip' and not reason:
                    raise ValueError(f'{path}:{marker_line}: docs-check skip '
                                     'needs a reason')
            blocks.append(Block(path, i + 1, lang, code, mode, reason))
        marker = None
        i = end + 1
    return blocks


def is_config_fragment(code: str) -> bool:
    """True for Python made only of assignments: an mmengine config."""
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return False
    return bool(body) and all(isinstance(node, ast.Assign) for node in body)


def _expected_channels(spec: dict, part: str, channels: List[int]):
    if spec.get('in_index') is not None:
        return [channels[i] for i in spec['in_index']]
    if part == 'head':  # after global pooling: the last output only
        return channels[-1]
    return channels


def build_config(path: str) -> List[str]:
    """Build what a config fragment defines (see the module docstring).

    Returns:
        list[str]: What was checked, one line each.

    Raises:
        ValueError: If a part's ``in_channels`` differ from the backbone's
            outputs, a runner or strategy is not registered, or the
            fragment defines nothing to build, or an ``mbv3://NAME`` is
            not in the weights registry
            (:func:`mbv3.convert.weights.get_weights`).
    """
    import mmengine.runner  # noqa: F401  (registers FlexibleRunner)
    from mmengine.config import Config
    from mmengine.registry import MODELS, RUNNERS, STRATEGIES
    cfg = Config.fromfile(path)
    checked = []
    model = cfg.get('model') or {}
    names = sorted(_weights_names(cfg.to_dict()))
    if names:
        from mbv3.convert.weights import get_weights
        for name in names:
            get_weights(name)
        checked.append(f"in mbv3's weights registry: {', '.join(names)}")
    if 'type' in model.get('backbone', {}):
        backbone = {k: v for k, v in model['backbone'].items()
                    if k != '_delete_'}
        channels = list(MODELS.build(backbone).out_channels)
        checked.append(f"built {backbone['type']}: out_channels "
                       f'{channels}')
        for part in ('neck', 'decode_head', 'head'):
            spec = model.get(part) or {}
            if 'in_channels' not in spec:
                continue
            want = _expected_channels(spec, part, channels)
            got = spec['in_channels']
            if (list(got) if isinstance(got, (list, tuple)) else got) != want:
                raise ValueError(f'{part}.in_channels is {got!r}, but the '
                                 f'backbone gives {want!r}')
            checked.append(f'{part}.in_channels match: {got!r}')
    if 'runner_type' in cfg:
        strategy = cfg.get('strategy', {}).get('type')
        for registry, name in ((RUNNERS, cfg.runner_type),
                               (STRATEGIES, strategy)):
            if name is not None and registry.get(name) is None:
                raise ValueError(f'{name!r} is not in mmengine\'s '
                                 f'{registry.name} registry')
        checked.append(f'registered: {cfg.runner_type}, {strategy}')
    if not checked:
        raise ValueError('the config fragment defines no model backbone, '
                         'runner_type or mbv3:// weights to check')
    return checked


def _weights_names(value) -> set:
    """The ``NAME`` of every ``mbv3://NAME`` string in a config value."""
    if isinstance(value, str):
        return {value[len('mbv3://'):]} if value.startswith('mbv3://') \
            else set()
    items = value.values() if isinstance(value, dict) else \
        value if isinstance(value, (list, tuple)) else ()
    return set().union(*map(_weights_names, items))


OUTPUT_TAG = '\x1fdocs-check output {}\x1f'


class Expectation(NamedTuple):
    """A ``print(...)`` statement and the output its comments show."""
    line: int  # 1-based first line of the statement in the block
    end: int  # 1-based last line
    indent: int
    lines: Tuple[str, ...]


def printed_expectations(code: str) -> List[Expectation]:
    """Each ``print(...)`` statement followed directly by comment lines,
    with those lines (``#`` and one space stripped)."""
    lines = code.splitlines()
    found = []
    for node in ast.walk(ast.parse(code)):
        if not (isinstance(node, ast.Expr) and
                isinstance(node.value, ast.Call) and
                getattr(node.value.func, 'id', None) == 'print'):
            continue
        shown = []
        for line in lines[node.end_lineno:]:
            if not line.strip().startswith('#'):
                break
            shown.append(line.strip()[1:].strip())
        if shown:
            found.append(Expectation(node.lineno, node.end_lineno,
                                     node.col_offset, tuple(shown)))
    return sorted(found)


def instrument(code: str, expectations: List[Expectation]) -> str:
    """``code`` with a tag printed before and after each expectation's
    statement, so that its output can be cut out of the block's."""
    lines = code.splitlines()
    for n, exp in reversed(list(enumerate(expectations))):
        tag = ' ' * exp.indent + f'print({OUTPUT_TAG.format(n)!r})'
        lines.insert(exp.end, tag)
        lines.insert(exp.line - 1, tag)
    return '\n'.join(lines) + '\n'


def output_mismatches(stdout: str,
                      expectations: List[Expectation]) -> List[str]:
    """One message per statement whose output differs from its comments."""
    problems = []
    for n, exp in enumerate(expectations):
        # between the tags, each time the statement ran (in a loop)
        parts = stdout.split(OUTPUT_TAG.format(n) + '\n')
        printed = tuple(line.rstrip() for line in ''.join(
            parts[1::2]).splitlines()) if len(parts) >= 3 else None
        if printed != exp.lines:
            problems.append(f'line {exp.line}: printed {printed!r}, the '
                            f'block shows {exp.lines!r}')
    return problems


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


def run_block(block: Block, sandbox: str, timeout: float
              ) -> Tuple[bool, str]:
    """Run one block from the sandbox root with its ``mbv3`` first.

    Returns:
        tuple[bool, str]: Whether it passed, and its output (with the
        printed-output mismatches, if any).
    """
    pythonpath = os.pathsep.join(
        p for p in (sandbox, os.environ.get('PYTHONPATH')) if p)
    env = dict(os.environ, PYTHONPATH=pythonpath, MPLBACKEND='Agg')
    expectations = []
    if block.lang == 'bash':
        cmd = ['bash', '-e', '-o', 'pipefail', '-c', without_pip(block.code)]
    else:
        script = osp.join(sandbox, '.docs_check_block.py')
        expectations = printed_expectations(block.code)
        with open(script, 'w') as f:
            f.write(instrument(block.code, expectations))
        cmd = [sys.executable, script]
        if block.mode == 'config':
            cmd = [sys.executable, osp.join(sandbox, 'tools',
                                            'check_docs.py'),
                   '--build-config', script]
    result = subprocess.run(cmd, cwd=sandbox, env=env, capture_output=True,
                            text=True, timeout=timeout)
    problems = output_mismatches(result.stdout, expectations) \
        if result.returncode == 0 else []
    output = '\n'.join([result.stdout + result.stderr, *problems])
    return result.returncode == 0 and not problems, output


def _what_was_checked(block: Block, output: str) -> str:
    if block.mode == 'config':
        return ': ' + '; '.join(output.strip().splitlines())
    shown = len(printed_expectations(block.code)) \
        if block.lang == 'python' else 0
    return f', {shown} printed output(s) as shown' if shown else ''


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
                ok, output = run_block(block, sandbox, timeout)
            except subprocess.TimeoutExpired as err:
                ok, output = False, f'timed out after {timeout} s: {err}'
            took = time.perf_counter() - start
            if ok:
                done.add((block.lang, block.code))
                log(f'{where} ok ({took:.1f} s)'
                    f'{_what_was_checked(block, output)}')
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
    parser.add_argument('--build-config', metavar='PY',
                        help=argparse.SUPPRESS)  # one config fragment
    args = parser.parse_args(argv)
    if args.build_config:
        print('\n'.join(build_config(args.build_config)))
        return 0
    failed = check(args.files or doc_files(REPO), slow=args.slow,
                   timeout=args.timeout, keep=args.keep)
    print(f'docs check: {failed} block(s) failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
