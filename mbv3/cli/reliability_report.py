"""Inject faults and bad inputs into mbv3 and count how each was handled.

    python tools/analysis_tools/reliability_report.py [--kills 3] [--fuzz 500]
        [--json PATH]

It exits with status 1, naming each case, when a case is not survived.

Faults: damaged checkpoints (empty, truncated, non-checkpoint, bit flip)
given to each loading path; failed writes (a write error, a disk-full
fsync, a failed rename); auto-resume with a damaged latest checkpoint; a
NaN loss (stop and skip); SIGTERM mid-epoch; and kill -9 of a real training
process at a random moment, then ``--resume``. A run counts as "nothing
lost" when its final weights and optimizer state equal, bit for bit, those
of an uninterrupted run. Bad inputs: model inputs, config values and image
files, each expected to raise a one-line error naming the problem; fuzzed
image bytes must decode or raise ``ImageDecodeError``.

The training here is a toy mmengine run (a dropout + linear model, data
with Python-``random`` noise, 4 epochs of 8 iterations) so that many
kills fit in a minute; ``tests/test_apis/test_kill_resume.py`` does the
same with the real digits job.
"""
import argparse
import io
import json
import os
import os.path as osp
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter

import numpy as np
import torch
from mmengine.model import BaseModel
from torch import nn

from mbv3.engine.mmengine_patches import apply_mmengine_fixes

EPOCHS, ITERS = 4, 8


class ToyModel(BaseModel):
    """A linear regressor ``(N, 4) -> (N,)`` with dropout (torch RNG);
    ``poison`` makes its output NaN (the non-finite-loss case)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(4, 1)
        self.drop = nn.Dropout(0.5)
        self.poison = False

    def forward(self, inputs, targets, mode='tensor'):
        out = self.fc(self.drop(inputs)).squeeze(1)
        if self.poison:
            out = out * float('nan')
        if mode == 'loss':
            return dict(loss=((out - targets)**2).mean())
        return out


def toy_runner(work_dir, resume_from=None, action='error', hooks=()):
    from mmengine.runner import Runner

    class ToyData(torch.utils.data.Dataset):

        def __len__(self):
            return 2 * ITERS

        def __getitem__(self, i):
            time.sleep(0.02)  # a window for the kill to land mid-run
            x = torch.full((4, ), i / 16 + random.random())
            return dict(inputs=x, targets=torch.tensor(i / 16))

    return Runner(
        model=ToyModel(), work_dir=work_dir,
        experiment_name=f'toy_{uuid.uuid4().hex}',
        train_dataloader=dict(
            dataset=ToyData(), batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=EPOCHS),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05,
                                          momentum=0.9)),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=100),
            resume_seed=dict(type='DeterministicResumeHook'),
            nonfinite_loss=dict(type='NonFiniteLossHook', action=action),
            signal_checkpoint=dict(type='SignalCheckpointHook')),
        custom_hooks=list(hooks), randomness=dict(seed=0),
        default_scope='mbv3', log_level='ERROR',
        resume=resume_from is not None, load_from=resume_from)


def final_state(work_dir):
    from mbv3.utils.checkpoint import load_checkpoint_file
    ckpt = load_checkpoint_file(osp.join(work_dir, f'epoch_{EPOCHS}.pth'))
    return ckpt['state_dict'], ckpt['optimizer']['state']


def same_state(a, b) -> bool:
    (wa, oa), (wb, ob) = a, b
    return all(torch.equal(wa[k], wb[k]) for k in wa) and all(
        torch.equal(v, ob[i][n]) for i, s in oa.items() for n, v in s.items())


def child_train(work_dir, resume):
    """Entry point of the training subprocess."""
    from mbv3.apis.train import resolve_resume
    toy_runner(work_dir, resolve_resume('auto', work_dir)
               if resume else None).train()


def spawn(work_dir, resume=False):
    args = [sys.executable, '-m', 'mbv3.cli.reliability_report', '--child',
            work_dir]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.Popen(args + (['--resume'] if resume else []),
                            env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def kill_trials(root, reference, count, rng):
    """kill -9 a training process at a random moment after its first
    checkpoint, resume (as often as needed), compare with ``reference``."""
    lost_nothing = 0
    for trial in range(count):
        work_dir = osp.join(root, f'kill{trial}')
        proc = spawn(work_dir)
        while not osp.exists(osp.join(work_dir, 'epoch_1.pth')):
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode()[-2000:])
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.3))
        proc.send_signal(signal.SIGKILL)
        if proc.wait() != -signal.SIGKILL or osp.exists(
                osp.join(work_dir, f'epoch_{EPOCHS}.pth')):
            raise RuntimeError('the kill came after training had ended; '
                               'this trial tested nothing')
        resumed = spawn(work_dir, resume=True)
        if resumed.wait() != 0:
            raise RuntimeError(resumed.stderr.read().decode()[-2000:])
        lost_nothing += same_state(final_state(work_dir), reference)
    return lost_nothing


def signal_trial(root, reference, signum, at_iter):
    from mmengine.hooks import Hook

    class Send(Hook):

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if runner.iter == at_iter:
                os.kill(os.getpid(), signum)

    work_dir = osp.join(root, f'signal{signum}')
    try:
        toy_runner(work_dir, hooks=[Send()]).train()
    except (SystemExit, KeyboardInterrupt):
        pass
    saved = osp.join(work_dir, f'iter_{at_iter + 1}.pth')
    toy_runner(work_dir, resume_from=saved).train()
    return same_state(final_state(work_dir), reference)


def nan_trials(root):
    from mmengine.hooks import Hook

    from mbv3.engine.hooks import NonFiniteLossError

    class Poison(Hook):

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            runner.model.poison = runner.iter == ITERS + 3

    stopped = 0
    runner = toy_runner(osp.join(root, 'nan_error'), hooks=[Poison()])
    try:
        runner.train()
    except NonFiniteLossError as err:
        stopped = f'iteration {ITERS + 4}' in str(err) and all(
            torch.isfinite(p).all() for p in runner.model.parameters())
    runner = toy_runner(osp.join(root, 'nan_skip'), action='skip',
                        hooks=[Poison()])
    runner.train()
    skipped = runner.iter == EPOCHS * ITERS and all(
        torch.isfinite(p).all() for p in runner.model.parameters())
    return int(stopped) + int(skipped)


def damaged_copies(root):
    path = osp.join(root, 'source.bin')
    torch.save({'state_dict': {'w': torch.arange(1000.)}, 'meta': {}}, path)
    data = open(path, 'rb').read()
    os.remove(path)
    flipped = bytearray(data)
    flipped[data.index(b'data/0') + 200] ^= 0xFF
    return {'empty': b'', 'truncated': data[:len(data) // 2],
            'not a checkpoint': b'hello\n', 'bit flip': bytes(flipped)}


def checkpoint_faults(root):
    """Each damaged file through each loading path: a one-line
    CorruptCheckpointError naming it; auto-resume falls back."""
    from mmengine.runner import load_checkpoint

    from mbv3.apis.train import resolve_resume
    from mbv3.models.backbones.mobilenet_v3 import MobileNetV3
    from mbv3.utils.checkpoint import (CorruptCheckpointError,
                                       load_checkpoint_file)
    tried = handled = 0
    for kind, data in damaged_copies(root).items():
        work_dir = osp.join(root, kind.replace(' ', '_'))
        os.makedirs(work_dir)
        good = osp.join(work_dir, 'epoch_1.pth')
        torch.save({'meta': {}}, good)
        os.utime(good, (1, 1))
        bad = osp.join(work_dir, 'epoch_2.pth')
        with open(bad, 'wb') as f:
            f.write(data)
        model = MobileNetV3('small_minimal', init_cfg=dict(
            type='Pretrained', checkpoint=bad))
        for load in (lambda: load_checkpoint_file(bad),
                     lambda: load_checkpoint(nn.Linear(1, 1), bad),
                     model.init_weights):
            tried += 1
            try:
                load()
            except CorruptCheckpointError as err:
                handled += bad in str(err) and '\n' not in str(err)
        tried += 1
        handled += resolve_resume('auto', work_dir) == good
    return tried, handled


def write_faults(root):
    """A write that fails at each step leaves the old file whole."""
    from mbv3.utils import checkpoint as ckpt
    tried = kept = 0
    path = osp.join(root, 'latest.pth')
    for step in ('write', 'fsync', 'replace'):
        ckpt.atomic_write(b'old', path)
        original = {'fsync': os.fsync, 'replace': os.replace}.get(step)

        def fail(*args):
            raise OSError(28, 'No space left on device')

        if step == 'write':
            data = 'text, not bytes: write raises'
        else:
            data = b'new'
            setattr(os, step, fail)
        try:
            ckpt.atomic_write(data, path)
        except (OSError, TypeError):
            pass
        finally:
            if original is not None:
                setattr(os, step, original)
        tried += 1
        kept += open(path, 'rb').read() == b'old' and \
            os.listdir(root).count('latest.pth') == 1 and not any(
                n.endswith('.tmp') for n in os.listdir(root))
    return tried, kept


def model_and_config_inputs():
    """Each bad model input and config value: a ValueError/TypeError."""
    from mbv3.models.backbones.mobilenet_v3 import MobileNetV3
    model = MobileNetV3('small_minimal').train()
    inputs = [torch.rand(3, 32, 32), torch.rand(2, 1, 32, 32),
              torch.rand(0, 3, 32, 32), torch.zeros(2, 3, 32, 32,
                                                    dtype=torch.uint8),
              torch.rand(1, 3, 32, 32), torch.rand(2, 3, 0, 32)]
    configs = [dict(arch='medium'), dict(out_indices=(3, 3)),
               dict(out_indices=(99, )), dict(frozen_stages=99),
               dict(widen_factor=0), dict(widen_factor=-1.0)]
    tried = clear = 0
    for x in inputs:
        tried += 1
        try:
            model(x)
        except (ValueError, TypeError) as err:
            clear += 'shape' in str(err) or 'dtype' in str(err) or \
                'floating point' in str(err)
    for kwargs in configs:
        tried += 1
        try:
            MobileNetV3(**kwargs)
        except (ValueError, TypeError) as err:
            clear += any(k in str(err) for k in kwargs)
    return tried, clear


def image_inputs(root, fuzz, rng):
    """Bad files are named; fuzzed bytes decode or raise ImageDecodeError.
    Returns (named tried, named ok, outcome counts of the fuzz)."""
    from PIL import Image

    from mbv3.datasets.transforms import (ImageDecodeError,
                                          LoadImageFromFile, decode_image)
    buf = io.BytesIO()
    Image.new('RGB', (32, 32), (1, 2, 3)).save(buf, 'PNG')
    png = buf.getvalue()
    bad = {'empty.png': b'', 'cut.png': png[:len(png) // 2],
           'text.jpg': b'hello\n', 'missing.png': None}
    tried = named = 0
    for name, data in bad.items():
        path = osp.join(root, name)
        if data is not None:
            with open(path, 'wb') as f:
                f.write(data)
        tried += 1
        try:
            LoadImageFromFile()(dict(img_path=path))
        except (ImageDecodeError, FileNotFoundError) as err:
            named += path in str(err)
    seeds = []
    for fmt in ('PNG', 'JPEG', 'BMP', 'GIF', 'TIFF', 'WEBP'):
        out = io.BytesIO()
        Image.fromarray(np.random.default_rng(0).integers(
            0, 256, (6, 5, 3), dtype=np.uint8)).save(out, fmt)
        seeds.append(out.getvalue())
    outcomes = Counter()
    for i in range(fuzz):
        if i % 4 == 0:
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(0,
                                                                        64)))
        else:
            blob = bytearray(rng.choice(seeds))
            for _ in range(rng.randint(1, 8)):
                blob[rng.randrange(len(blob))] = rng.getrandbits(8)
            data = bytes(blob[:rng.randint(1, len(blob))])
        try:
            img = decode_image(data, 'fuzz')
            outcomes['decoded' if img.dtype == np.uint8 and img.shape[2] == 3
                     else 'bad output'] += 1
        except ImageDecodeError:
            outcomes['ImageDecodeError'] += 1
        except Exception:  # noqa: BLE001 -- counting undocumented errors
            outcomes['other exception'] += 1
    return tried, named, outcomes


def run_cases(kills, fuzz):
    """Every fault and bad input; returns the counts (see
    :func:`not_survived`)."""
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as root:
        ref_dir = osp.join(root, 'reference')
        toy_runner(ref_dir).train()
        reference = final_state(ref_dir)
        ckpt_tried, ckpt_ok = checkpoint_faults(root)
        write_tried, write_ok = write_faults(osp.join(root, 'writes'))
        nan_ok = nan_trials(root)
        signal_ok = sum(signal_trial(root, reference, s, at)
                        for s, at in ((signal.SIGTERM, 11),
                                      (signal.SIGINT, 20)))
        kill_ok = kill_trials(root, reference, kills, rng)
        input_tried, input_ok = model_and_config_inputs()
        img_tried, img_ok, outcomes = image_inputs(root, fuzz, rng)
    return dict(
        kills=kills, fuzz=fuzz,
        faults=[['damaged checkpoints x loading paths', ckpt_ok,
                 ckpt_tried],
                ['failed checkpoint writes, old file kept', write_ok,
                 write_tried],
                ['NaN loss, stopped or skipped as configured', nan_ok, 2],
                ['SIGTERM/SIGINT mid-epoch, saved and resumed', signal_ok,
                 2],
                ['kill -9 at a random moment, resumed', kill_ok, kills]],
        nothing_lost=[signal_ok + kill_ok, 2 + kills],
        inputs=[['model inputs and config values, clear error', input_ok,
                 input_tried],
                ['bad image files, error names the file', img_ok,
                 img_tried]],
        fuzz_outcomes=dict(sorted(outcomes.items())))


def format_report(results) -> str:
    """The report's text (the README quotes it)."""
    faults = results['faults']
    lines = [f'faults injected: {sum(c[2] for c in faults)}, survived: '
             f'{sum(c[1] for c in faults)}']
    lines += [f'  {label}: {ok}/{tried}' for label, ok, tried in faults]
    ok, tried = results['nothing_lost']
    lines.append(f'runs with nothing lost (final state == uninterrupted '
                 f'run): {ok}/{tried}')
    inputs = results['inputs']
    lines.append(f'bad inputs tried: '
                 f'{sum(c[2] for c in inputs) + results["fuzz"]}')
    lines += [f'  {label}: {ok}/{tried}' for label, ok, tried in inputs]
    lines.append(f'  fuzzed image bytes: {results["fuzz_outcomes"]}')
    return '\n'.join(lines) + '\n'


def not_survived(results):
    """The cases whose documented outcome did not happen: a count below
    its trials, or a fuzzed file that neither decoded nor raised
    ``ImageDecodeError``."""
    failed = [f'{label}: {ok}/{tried}'
              for label, ok, tried in results['faults'] + results['inputs']
              if ok < tried]
    failed += [f'fuzzed image bytes: {count} x {outcome}'
               for outcome, count in results['fuzz_outcomes'].items()
               if outcome not in ('ImageDecodeError', 'decoded')]
    return failed


def main(argv=None) -> dict:
    """Run the cases, print the report (and write ``--json``); return the
    counts.

    Raises:
        SystemExit: With status 1, after naming each case on stderr, when
            a case is not survived.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--kills', type=int, default=3,
                        help='kill -9 trials (each ~3 process starts)')
    parser.add_argument('--fuzz', type=int, default=500,
                        help='fuzzed image byte strings')
    parser.add_argument('--json', metavar='PATH',
                        help='also write the counts and the report here '
                        '(docs/results/reliability.json feeds the README)')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    parser.add_argument('--resume', action='store_true',
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    apply_mmengine_fixes()  # resume on torch >= 2.6, atomic writes
    if args.child:
        return child_train(args.child, args.resume)
    import warnings
    warnings.filterwarnings('ignore')
    results = run_cases(args.kills, args.fuzz)
    results['report'] = format_report(results)
    print(results['report'], end='')
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(results, f, indent=2)
            f.write('\n')
    failed = not_survived(results)
    for case in failed:
        print(f'NOT SURVIVED: {case}', file=sys.stderr)
    if failed:
        raise SystemExit(1)
    return results


if __name__ == '__main__':
    from mbv3.cli import run
    run('reliability_report')
