import pytest

from mbv3.cli.flops import main
from mbv3.models.backbones import MobileNetV3
from mbv3.utils.flops import complexity


def test_get_flops_prints_table_with_known_totals(capsys):
    totals = main(['configs/_base_/models/mobilenet-v3-large.py'])
    out = capsys.readouterr().out
    # torchvision mobilenet_v3_large: 5,483,032 parameters, 0.22 GFLOPS;
    # paper Table 3: 219M MAdds (217M by torchvision's count)
    assert totals['params'] == 5_483_032
    assert abs(totals['macs'] - 217e6) / 217e6 <= 0.01
    assert 'backbone.layer16' in out and 'head.layers' in out
    assert 'params 5.483M, MACs 216.6M' in out
    # every column, against a count from torchvision's own table of the
    # network (below); the README's figures are these (doc_figures.py)
    reference = counts_from_torchvision_table('mobilenet_v3_large')
    assert {k: totals[k] for k in reference} == reference
    assert (reference['activations'], reference['hardswish'],
            reference['relu'], reference['se']) == (
                4_407_168, 1_511_264, 2_315_392, 1_194_816)


def counts_from_torchvision_table(name, size=224, num_classes=1000):
    """Per-image element counts worked out by hand from torchvision's
    ``InvertedResidualConfig`` rows (``_mobilenet_v3_conf``), with no
    forward pass: conv/linear outputs (``activations``), elements through
    h-swish, ReLU and h-sigmoid, and SE pooling + scaling (two ops per
    element of the SE input)."""
    from torchvision.models.mobilenetv3 import _mobilenet_v3_conf
    from torchvision.models._utils import _make_divisible
    rows, last_channel = _mobilenet_v3_conf(name)
    counts = dict(activations=0, hardswish=0, relu=0, hardsigmoid=0, se=0)

    def unit(channels, pixels, act):
        counts['activations'] += channels * pixels
        if act:
            counts[act] += channels * pixels

    side = size // 2
    unit(rows[0].input_channels, side * side, 'hardswish')  # stem
    for row in rows:
        act = 'hardswish' if row.use_hs else 'relu'
        if row.expanded_channels != row.input_channels:
            unit(row.expanded_channels, side * side, act)
        side //= row.stride
        unit(row.expanded_channels, side * side, act)  # depthwise
        if row.use_se:
            squeeze = _make_divisible(row.expanded_channels // 4, 8)
            unit(squeeze, 1, 'relu')
            unit(row.expanded_channels, 1, 'hardsigmoid')
            counts['se'] += 2 * row.expanded_channels * side * side
        unit(row.out_channels, side * side, None)  # projection
    unit(6 * rows[-1].out_channels, side * side, 'hardswish')  # last conv
    unit(last_channel, 1, 'hardswish')  # classifier.0
    unit(num_classes, 1, None)  # classifier.3
    return counts


def test_complexity_counts_every_hardsigmoid_of_small():
    totals, rows = complexity(MobileNetV3('small'), (3, 224, 224), depth=1)
    # Small has SE in 9 bnecks (paper Table 2); each gate is one
    # h-sigmoid element per expanded channel.
    assert totals['hardsigmoid'] == 16 + 96 + 240 + 240 + 120 + 144 + \
        288 + 576 + 576
    assert rows['layer0']['hardswish'] == 16 * 112 * 112


def test_complexity_rejects_bad_depth():
    with pytest.raises(ValueError, match='depth must be an int >= 1'):
        complexity(MobileNetV3('small'), depth=0)


def test_get_flops_takes_the_input_from_a_one_channel_model(
        gray_digits_config, capsys):
    # Issue 11 input 8: the input comes from the model (1 channel) and its
    # config's test pipeline (32 x 32), --shape overrides the size.
    totals = main([gray_digits_config])
    assert 'input (1, 32, 32): params' in capsys.readouterr().out
    # the 3-channel digits classifier has 1,528,106 parameters; the stem
    # conv loses 16 x 2 x 3 x 3 weights
    assert totals['params'] == 1_528_106 - 16 * 2 * 9
    main([gray_digits_config, '--shape', '64', '48'])
    assert 'input (1, 64, 48): params' in capsys.readouterr().out
