import re

from mbv3.cli.benchmark import main


def test_benchmark_smoke_prints_ratios(capsys):
    results = main(['--arch', 'small', '--size', '32', '--iters', '1',
                    '--rounds', '2', '--warmup', '0', '--deploy', '--onnx'])
    out = capsys.readouterr().out
    assert set(results) == {
        'mbv3 eager', 'torchvision eager', 'timm eager',
        'mbv3 deploy (fused + channels_last)', 'mbv3 onnxruntime'}
    assert results['torchvision eager']['ratio'] == 1.0
    for name in ('mbv3 eager', 'timm eager', 'mbv3 onnxruntime'):
        ratio = re.search(rf'ratio {name} / torchvision eager: (\S+)x', out)
        assert float(ratio.group(1)) > 0


def test_benchmark_train_with_cp_saves_memory(capsys):
    results = main(['--arch', 'small', '--size', '32', '--batch', '2',
                    '--mode', 'train', '--with-cp', '--iters', '1',
                    '--rounds', '1', '--warmup', '0'])
    assert 'ratio mbv3 eager with_cp / torchvision eager' in \
        capsys.readouterr().out
    # with_cp keeps only each bneck's input for backward (about 0.6x here,
    # where the stem, last conv and head are not checkpointed)
    assert results['mbv3 eager with_cp']['memory_mb'] < \
        0.8 * results['mbv3 eager']['memory_mb']
