import numpy as np
import pytest

from mbv3.registry import TRANSFORMS


@pytest.mark.parametrize('edge', ['short', 'long', 'width', 'height'])
def test_resize_edge_equals_mmpretrains(edge, photos):
    """Same size (the other edge truncated) and pixels as mmpretrain's
    ResizeEdge, whose names it takes: chelsea is 300x451, 256 * 451 / 300
    = 384.85 -> 384."""
    from mmpretrain.datasets.transforms import ResizeEdge
    _, raw = photos
    image = raw[1][..., ::-1].copy()
    ours = TRANSFORMS.build(dict(type='ResizeEdge', scale=256, edge=edge))(
        dict(img=image.copy()))
    theirs = ResizeEdge(scale=256, edge=edge)(dict(img=image.copy()))
    assert ours['img'].shape == theirs['img'].shape
    np.testing.assert_array_equal(ours['img'], theirs['img'])
    if edge == 'short':
        assert ours['img'].shape == (256, 384, 3)
