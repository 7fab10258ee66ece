"""The deployment table of docs/deployment.md is the generator's output from the stored
JSONs, and its target verdicts are computed right."""
import json
import os

from mbv3.cli.deployment_table import main
from mbv3.reports.deployment_table import (ACCURACY_JSON, BENCHMARK_JSON,
                                          PAGE, deployment_markdown, targets)
from tests.conftest import REPO


def _load(path):
    with open(os.path.join(REPO, path)) as f:
        return json.load(f)


def test_docs_deployment_table_is_generated_from_the_jsons():
    table = deployment_markdown(_load(BENCHMARK_JSON), _load(ACCURACY_JSON))
    assert PAGE == 'docs/deployment.md'
    with open(os.path.join(REPO, PAGE), encoding='utf-8') as f:
        page = f.read()
    assert table in page, ('docs/deployment.md table is stale: run python '
                           'tools/analysis_tools/deployment_table.py '
                           '--update docs/deployment.md')


def _rows(**ratios):
    return {name: dict(latency_ms=1.0, img_s=1.0, ratio=r)
            for name, r in ratios.items()}


def test_targets_say_met_or_missed_and_by_how_much():
    batch = _rows(**{'torchvision eager': 1.0, 'mbv3 eager': 0.95,
                     'mbv3 onnxruntime fp32': 3.0,
                     'mbv3 openvino fp32': 6.6,
                     'torchvision openvino fp32': 5.0,
                     'torchvision int8 (x86 eager)': 5.0,
                     'mbv3 openvino int8': 8.0,
                     'mbv3 onnxruntime int8': 4.0})
    bench = dict(results=dict(default={'1': batch, '32': batch}))
    accuracy = {'digits': {'onnxruntime': dict(change=0.0),
                           'openvino': dict(change=-0.83),
                           'executorch': dict(change=+0.6),
                           'torch-fx-qat': dict(change=-0.32)}}
    lines = targets(bench, accuracy)
    assert lines[0] == ('- fp32, batch 1: best mbv3 path mbv3 openvino '
                        'fp32, met (6.60x >= 4x); against torchvision\'s '
                        'best exported fp32 path (5.00x): beaten')
    assert lines[1].startswith('- fp32, batch 32: best mbv3 path mbv3 '
                               'openvino fp32, met (6.60x >= 6x)')
    # 8.0 / 5.0 = 1.6x torchvision int8
    assert lines[2] == ('- int8, batch 32: best mbv3 path mbv3 openvino '
                        'int8 at 1.60x torchvision int8, met (1.60x >= '
                        '1.5x); 8.00x torchvision eager (about 8x wanted)')
    assert lines[3].endswith('digits, onnxruntime: +0.00, met')
    assert lines[4].endswith('digits, openvino: -0.83, missed by 0.33 '
                             'points')
    # a gain is as far from fp32 as a loss
    assert lines[5].endswith('digits, executorch: +0.60, missed by 0.10 '
                             'points')
    assert lines[6] == ('- int8 top-1 within 0.5 points of fp32, digits, '
                        'torch-fx-qat: -0.32, met')
    assert lines[7] == ('- mbv3 eager >= 1.0x, batch 1: missed by 5% '
                        '(0.95x < 1x)')


def test_tool_prints_the_table(capsys):
    table = main([])
    assert capsys.readouterr().out.strip() == table.strip()
