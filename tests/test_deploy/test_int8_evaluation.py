"""The int8 evaluation: deterministic crops of the val images, agreement,
cosine and the verdict against the targets, and the generated table."""
import numpy as np
import pytest
import torch

from mbv3.deploy.accuracy import VIEWS, compare, multi_crop
from mbv3.reports.int8_table import BEGIN, END, int8_table


def test_multi_crop_views_are_deterministic_crops():
    # a horizontal ramp: each crop's left column tells where it starts
    ramp = torch.arange(32.).expand(2, 1, 32, 32).contiguous()
    views = multi_crop(ramp)
    assert views.shape == (len(VIEWS) * 2, 1, 32, 32) == (14, 1, 32, 32)
    torch.testing.assert_close(views[:2], ramp)  # the image itself first
    # (0, 0.125, 0.875): columns 4..31 stretched over 32
    assert views[4, 0, 0, 0] < views[4, 0, 0, -1]
    assert 3.5 < float(views[4, 0, 0, 0]) < 5.0
    assert float(views[4, 0, 0, -1]) == pytest.approx(31, abs=0.5)
    torch.testing.assert_close(multi_crop(ramp), views)


def test_compare_counts_agreement_and_gives_the_verdict():
    labels = np.array([0, 1, 1, 0])
    fp32 = np.array([[2., 0.], [0., 2.], [2., 0.], [2., 0.]])
    int8 = fp32.copy()
    row = compare(fp32, int8, labels)
    assert (row['images'], row['agreement'], row['change']) == (4, 100., 0.)
    assert row['cosine'] == pytest.approx(1.0)
    assert row['verdict'] == 'met'
    int8[2] = [0., 2.]  # one prediction flips, to the right class
    row = compare(fp32, int8, labels, max_change=0.3)
    assert (row['fp32_top1'], row['int8_top1']) == (75.0, 100.0)
    assert row['agreement'] == 75.0
    assert row['verdict'] == ('missed: agreement 75.00% < 99% by 24.00; '
                              'change +25.00 beyond ±0.3 by 24.70 points')


def test_int8_table_gives_images_and_verdict_per_path():
    row = dict(images=2520, fp32_top1=98.0, int8_top1=97.6, change=-0.4,
               agreement=99.2, cosine=0.9991, verdict='met')
    table = int8_table({'digits': {'pt2e': row,
                                   'executorch': dict(skipped='x')}})
    assert table.startswith(BEGIN) and table.endswith(END)
    assert ('| pt2e | digits | 2520 | 98.00 -> 97.60 | -0.40 | 99.20 | '
            '0.9991 | agreement >= 99%, change within ±0.5: met |') in table
    assert '| executorch | digits | - | - | - | - | - | skipped: x |' in table
