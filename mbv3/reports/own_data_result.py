"""The quickstart's figure for training on your own folder: its one-step
command, run as written on the texture folder its own block writes, and
measured by ``tools/analysis_tools/own_data_result.py``."""
import glob
import json
import os
import os.path as osp
import re
import shlex
from typing import Tuple

from .generated import begin_marker, end_marker

NAME = 'own-data-result'
BEGIN = begin_marker(NAME, 'tools/analysis_tools/own_data_result.py from '
                     'docs/results/own_data.json')
END = end_marker(NAME)
RESULT_JSON = osp.join('docs', 'results', 'own_data.json')
# the page that shows the steps and the figure
PAGE = osp.join('docs', 'quickstart.md')
_BLOCK = re.compile(r'^```(\w+)\n(.*?)^```$', re.DOTALL | re.MULTILINE)


def own_data_steps(text: str) -> Tuple[str, str]:
    """A page's Python block that writes ``data/textures`` and its
    one-step training command (the ``python tools/train.py`` line with
    ``--data-root data/textures``).

    Raises:
        ValueError: If the page lacks either.
    """
    blocks = _BLOCK.findall(text)
    writer = [code for lang, code in blocks
              if lang == 'python' and 'data/textures' in code]
    commands = [line.strip() for lang, code in blocks if lang == 'bash'
                for line in code.splitlines()
                if line.startswith('python tools/train.py') and
                '--data-root data/textures' in line]
    if not writer or not commands:
        raise ValueError('the page must hold a python block writing '
                         'data/textures and a "python tools/train.py ... '
                         '--data-root data/textures" command')
    return writer[0], commands[0]


def command_work_dir(command: str) -> str:
    """The ``--work-dir`` of a training command.

    Raises:
        ValueError: If the command has none.
    """
    args = shlex.split(command)
    if '--work-dir' not in args[:-1]:
        raise ValueError(f'command {command!r} has no --work-dir')
    return args[args.index('--work-dir') + 1]


def final_top1(work_dir: str) -> Tuple[float, int]:
    """The last validation top-1 (percent) of the newest run in
    ``work_dir``, and the epoch it was measured after.

    Raises:
        FileNotFoundError: If the work dir holds no run with a validation.
    """
    runs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))
    records = []
    if runs:
        with open(runs[-1], encoding='utf-8') as f:
            records = [json.loads(line) for line in f]
    vals = [r for r in records if 'accuracy/top1' in r]
    if not vals:
        raise FileNotFoundError(f'no validation top-1 in the runs of '
                                f'{work_dir!r}')
    return float(vals[-1]['accuracy/top1']), int(vals[-1]['step'])


def count_images(folder: str) -> int:
    """Files under ``folder`` (recursively)."""
    return sum(len(files) for _, _, files in os.walk(folder))


def result_markdown(result: dict) -> str:
    """The generated section of :data:`PAGE` for a recorded result."""
    minutes, seconds = divmod(round(result['wall_s']), 60)
    threads = result.get('threads')
    threads = f', {threads} thread{"s" if threads > 1 else ""}' \
        if threads else ''
    return '\n'.join([
        BEGIN,
        f"Measured: **{result['top1']:.1f}% val top-1** on the "
        f"{result['val_images']} val crops after {result['epochs']} epochs "
        f"on the {result['train_images']} train crops, "
        f"{minutes} min {seconds:02d} s wall on {result['machine']}{threads} "
        f"(`{result['command']}`).",
        END])
