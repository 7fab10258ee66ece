"""The deployment table of docs/deployment.md, written from the benchmark's JSON
(:func:`mbv3.deploy.benchmark.run_suite`) and the int8 accuracy JSON
(:func:`mbv3.deploy.accuracy.int8_accuracy`), with each target of the
deployment issue marked met or missed and by how much."""
from typing import Dict, List

from mbv3.deploy.accuracy import PATHS as ACCURACY_PATHS
from mbv3.deploy.benchmark import BASELINE, best
from .generated import begin_marker, end_marker

NAME = 'deployment-table'
BEGIN = begin_marker(NAME, 'tools/analysis_tools/deployment_table.py')
END = end_marker(NAME)
# the page that shows the table
PAGE = 'docs/deployment.md'
BENCHMARK_JSON = 'docs/results/deploy_benchmark.json'
ACCURACY_JSON = 'docs/results/int8_accuracy.json'

_EXPORT = 'tools/deployment/export_{}.py CONFIG CKPT OUT{}'
_RUNTIME_TEST = 'tests/test_deploy/test_runtimes.py: fp32 <= 1e-4 at 64 and 96 px'
_INT8_TEST = ('tests/test_deploy/test_int8.py: agreement >= 90% and mean '
              'cosine >= 0.99 against fp32 on texture photos, 64 and '
              '81x73 px')
QAT = 'mbv3 pt2e-qat int8'
# path -> (how it is made, the test of its numerics)
PATHS = {
    'mbv3 eager': ('`init_model(config, checkpoint)`', 'reference'),
    'mbv3 fused + channels_last': (
        '`prepare_for_inference(model)`',
        'tests/test_deploy/test_fuse.py: <= 1e-5'),
    'mbv3 compile': ('`torch.compile(prepare_for_inference(model, '
                     'channels_last=False))`',
                     'tests/test_deploy/test_fuse.py: no graph breaks'),
    'mbv3 onnxruntime fp32': (f"`{_EXPORT.format('onnx', '.onnx')}`",
                              _RUNTIME_TEST),
    'mbv3 onnxruntime int8': ('the same, `--int8 OUT_INT8.onnx`',
                              _INT8_TEST),
    'mbv3 openvino fp32': (f"`{_EXPORT.format('openvino', '.xml')}`",
                           _RUNTIME_TEST),
    'mbv3 openvino int8': ('the same, `--int8 OUT_INT8.xml` (NNCF)',
                           _INT8_TEST),
    'mbv3 executorch fp32': (f"`{_EXPORT.format('executorch', '.pte')}`",
                             _RUNTIME_TEST),
    'mbv3 executorch int8': ('the same, `--int8 OUT_INT8.pte` (XNNPACK '
                             'quantizer)', _INT8_TEST),
    'mbv3 pt2e int8': ('`compile_int8(quantize_ptq(model, calibration))` '
                       '(PT2E post-training, X86InductorQuantizer)',
                       _INT8_TEST),
    QAT: ('`*_qat.py` recipe (`QATHook`), then `convert(init_model(config, '
          'checkpoint))`; the graph and speed of mbv3 pt2e int8',
          'tests/test_engine/test_qat_hook.py: fine-tune, test and convert '
          'the checkpoint'),
}
MBV3_FP32 = ['mbv3 eager', 'mbv3 fused + channels_last', 'mbv3 compile',
             'mbv3 onnxruntime fp32', 'mbv3 openvino fp32',
             'mbv3 executorch fp32']
MBV3_INT8 = ['mbv3 onnxruntime int8', 'mbv3 openvino int8',
             'mbv3 executorch int8', 'mbv3 pt2e int8']
TV_EXPORTED = ['torchvision onnxruntime fp32', 'torchvision openvino fp32']
TV_INT8 = 'torchvision int8 (x86 eager)'
INT8_BOUND = 0.5  # points of top-1, the int8 target


def _ratio(rows: Dict[str, dict], name: str) -> str:
    return f"{rows[name]['ratio']:.2f}x" if name in rows else '-'


def _first_calls(rows: Dict[str, dict], name: str) -> str:
    """Seconds of the first call at batch 1 and 32 under the default
    allocator (a compiled path's compilation)."""
    return ' / '.join(f"{rows[b][name]['first_call_s']:.1f}"
                      if name in rows.get(b, {}) else '-' for b in ('1', '32'))


def _change(accuracy: dict, dataset: str, name: str) -> str:
    runtime = name.split()[1]
    row = accuracy.get(dataset, {}).get(runtime)
    if not row or 'skipped' in row:
        return '-'
    return f"{row['change']:+.2f}"


def _path_table(bench: dict, accuracy: dict) -> List[str]:
    default, tuned = bench['results']['default'], bench['results']['tuned']
    datasets = list(accuracy)
    lines = ['| Path | Made by | Numerics checked by | int8 top-1 change '
             f"({', '.join(datasets)}; points) | batch 1 | batch 32 | "
             'batch 1, tuned allocator | batch 32, tuned allocator | '
             'first call, batch 1 / 32 (s) |',
             '|---|---|---|---|---|---|---|---|---|']
    names = list(default['1'])
    # measured for accuracy but not timed (QAT: the graph of pt2e int8)
    names += [name for name in ('mbv3 pt2e int8', QAT)
              if name not in names and any(
                  name.split()[1] in rows for rows in accuracy.values())]
    for name in names:
        made, test = PATHS.get(name, ('reference' if name == BASELINE
                                      else 'anchor', '-'))
        change = ' / '.join(_change(accuracy, d, name) for d in datasets) \
            if name in (*MBV3_INT8, QAT) else '-'
        cells = [_ratio(rows, name) for rows in
                 (default['1'], default.get('32', {}), tuned['1'],
                  tuned.get('32', {}))]
        cells.append(_first_calls(default, name))
        lines.append(f'| {name} | {made} | {test} | {change} | '
                     + ' | '.join(cells) + ' |')
    return lines


def _verdict(value: float, target: float, unit: str = 'x') -> str:
    if value >= target:
        return f'met ({value:.2f}{unit} >= {target:g}{unit})'
    return (f'missed by {100 * (1 - value / target):.0f}% ({value:.2f}'
            f'{unit} < {target:g}{unit})')


def targets(bench: dict, accuracy: dict) -> List[str]:
    """One line per target of the deployment issue, met or missed and by
    how much (speed ratios under the default allocator)."""
    rows = bench['results']['default']
    lines = []
    for batch, target in (('1', 4.0), ('32', 6.0)):
        name, row = best(rows[batch], MBV3_FP32)
        tv_present = [n for n in TV_EXPORTED if n in rows[batch]]
        tv = max((rows[batch][n]['ratio'] for n in tv_present), default=0)
        lines.append(f'- fp32, batch {batch}: best mbv3 path {name}, '
                     f"{_verdict(row['ratio'], target)}; against "
                     f"torchvision's best exported fp32 path ({tv:.2f}x): "
                     + ('beaten' if row['ratio'] > tv else 'not beaten'))
    if TV_INT8 in rows['32']:
        name, row = best(rows['32'], MBV3_INT8)
        over = row['ratio'] / rows['32'][TV_INT8]['ratio']
        lines.append(f'- int8, batch 32: best mbv3 path {name} at '
                     f'{over:.2f}x torchvision int8, '
                     f"{_verdict(over, 1.5)}; {row['ratio']:.2f}x "
                     'torchvision eager (about 8x wanted)')
    for dataset, runtimes in accuracy.items():
        for runtime in ACCURACY_PATHS:
            row = runtimes.get(runtime)
            if not row or 'skipped' in row:
                continue
            off = abs(row['change'])
            verdict = 'met' if off <= INT8_BOUND else \
                f'missed by {off - INT8_BOUND:.2f} points'
            lines.append(f'- int8 top-1 within {INT8_BOUND} points of fp32, '
                         f"{dataset}, {runtime}: {row['change']:+.2f}, "
                         f'{verdict}')
    for batch in ('1', '32'):
        ratio = rows[batch]['mbv3 eager']['ratio']
        lines.append(f'- mbv3 eager >= 1.0x, batch {batch}: '
                     f'{_verdict(ratio, 1.0)}')
    return lines


def deployment_markdown(bench: dict, accuracy: dict) -> str:
    """The generated section of :data:`PAGE`: settings, the per-path table and the
    targets, between :data:`BEGIN` and :data:`END`."""
    s = bench['settings']
    threads = ', '.join(f'{k} {v}' for k, v in s['threads'].items())
    header = (f"Measured by `{bench.get('command', 'benchmark.py --suite')}`"
              f": {s['size']}x{s['size']}, MobileNetV3-Large, torch "
              f"{s['torch']}, {s['cores']} cores, threads: {threads}; "
              'load average (1 min) at the start '
              f"{s['load_average_start'][0]:.1f}, at the end "
              f"{s['load_average'][0]:.1f}. Ratios "
              'are speed-ups over torchvision eager at the same batch under '
              "glibc's default allocator; the tuned allocator is "
              f"`{s['tuned_allocator']}`. int8 top-1 changes: "
              f"`{accuracy_command()}`.")
    load = max(s['load_average_start'][0], s['load_average'][0])
    if load > s['cores']:
        header += (f" **The machine was loaded (load average "
                   f"{load:.1f} on {s['cores']} cores): "
                   'these timings are not representative.**')
    skipped = [f'- {name} not measured: {reason}'
               for name, reason in bench.get('skipped', {}).items()]
    return '\n'.join([BEGIN, header, '', *_path_table(bench, accuracy), '',
                      'Targets:', '', *targets(bench, accuracy), *skipped,
                      END])


def accuracy_command() -> str:
    return ('tools/analysis_tools/int8_accuracy.py --model digits '
            'configs/mobilenet_v3/mobilenet-v3-small_digits.py DIGITS_CKPT '
            '--model textures configs/mobilenet_v3/'
            'mobilenet-v3-small_textures.py TEXTURES_CKPT --qat digits '
            'configs/mobilenet_v3/mobilenet-v3-small_digits_qat.py '
            'DIGITS_QAT_CKPT --qat textures configs/mobilenet_v3/'
            'mobilenet-v3-small_textures_qat.py TEXTURES_QAT_CKPT '
            '--out docs/results/int8_accuracy.json')
