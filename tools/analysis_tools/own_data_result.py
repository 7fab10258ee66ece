"""Run the quickstart's one-step own-data command and record its figure.

    python tools/analysis_tools/own_data_result.py [--update docs/quickstart.md]

From the repository root: runs the quickstart's block that writes the texture
folder, then its one-step training command as written (in a fresh work
dir), times it, and writes the last val top-1 with the wall time to
docs/results/own_data.json; --update rewrites the page's generated
section from that file (with --no-run, only that).
"""
import argparse
import json
import os
import os.path as osp
import shlex
import shutil
import subprocess
import sys
import time

from mbv3.reports.generated import rewrite_section
from mbv3.reports.own_data_result import (NAME, PAGE, RESULT_JSON,
                                        command_work_dir, count_images,
                                        final_top1, own_data_steps,
                                        result_markdown)


def measure(page: str, machine: str) -> dict:
    with open(page, encoding='utf-8') as f:
        writer, command = own_data_steps(f.read())
    subprocess.run([sys.executable, '-c', writer], check=True)
    work_dir = command_work_dir(command)
    shutil.rmtree(work_dir, ignore_errors=True)
    args = shlex.split(command)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args[1:]], check=True)
    wall = time.perf_counter() - start
    top1, epochs = final_top1(work_dir)
    return dict(command=command, top1=top1, epochs=epochs, wall_s=wall,
                train_images=count_images('data/textures/train'),
                val_images=count_images('data/textures/val'),
                machine=machine,
                threads=int(os.environ.get('OMP_NUM_THREADS', '0')) or None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--update', metavar='PAGE',
                        help='rewrite the generated section of this file')
    parser.add_argument('--no-run', action='store_true',
                        help=f'only rewrite the section from {RESULT_JSON}')
    parser.add_argument('--machine', default=f'a shared {os.cpu_count()}-'
                        'core CPU', help='how the machine is described')
    args = parser.parse_args(argv)
    if not args.no_run:
        result = measure(args.update or PAGE, args.machine)
        os.makedirs(osp.dirname(RESULT_JSON), exist_ok=True)
        with open(RESULT_JSON, 'w', encoding='utf-8') as f:
            json.dump(result, f, indent=2)
        print(json.dumps(result))
    with open(RESULT_JSON, encoding='utf-8') as f:
        section = result_markdown(json.load(f))
    print(section)
    if args.update:
        rewrite_section(args.update, NAME, section)


if __name__ == '__main__':
    main()
