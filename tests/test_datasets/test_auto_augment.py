"""AutoAugment and RandomErasing: mmcv-pipeline adapters of torchvision's
transforms.v2, checked against torchvision on scikit-image photos."""
import numpy as np
import pytest
import torch
from torchvision.transforms import v2

from mbv3.registry import TRANSFORMS


def test_auto_augment_equals_torchvision_with_same_seed(photos):
    _, raw = photos
    rgb = raw[1]  # chelsea, (300, 451, 3)
    ours = TRANSFORMS.build(dict(type='AutoAugment', policy='imagenet'))
    theirs = v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET)
    for seed in range(5):
        torch.manual_seed(seed)
        got = ours(dict(img=rgb[..., ::-1].copy()))['img']  # BGR in/out
        torch.manual_seed(seed)
        want = theirs(torch.from_numpy(rgb).permute(2, 0, 1))
        np.testing.assert_array_equal(got[..., ::-1],
                                      want.permute(1, 2, 0).numpy())


def test_auto_augment_on_rgb_images_takes_no_copy_back(photos):
    """An image loaded RGB (img_channel_order='rgb') goes to torchvision as
    it is: the same result as torchvision's, with no BGR round trip."""
    _, raw = photos
    rgb = raw[1]
    ours = TRANSFORMS.build(dict(type='AutoAugment', policy='imagenet'))
    theirs = v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET)
    for seed in range(3):
        torch.manual_seed(seed)
        got = ours(dict(img=rgb.copy(), img_channel_order='rgb'))['img']
        torch.manual_seed(seed)
        want = theirs(torch.from_numpy(rgb).permute(2, 0, 1))
        np.testing.assert_array_equal(got, want.permute(1, 2, 0).numpy())


def test_random_erasing_fills_mean_pixel_in_rgb(photos):
    _, raw = photos
    rgb = raw[0].copy()
    out = TRANSFORMS.build(dict(type='RandomErasing', prob=1.0))(
        dict(img=rgb.copy(), img_channel_order='rgb'))['img']
    erased = (out != rgb).any(-1)
    np.testing.assert_array_equal(np.unique(out[erased], axis=0),
                                  [[124, 116, 104]])


def test_random_erasing_fills_mean_pixel_in_bgr(photos):
    _, raw = photos
    bgr = raw[0][..., ::-1].copy()
    out = TRANSFORMS.build(dict(type='RandomErasing', prob=1.0))(
        dict(img=bgr.copy()))['img']
    erased = (out != bgr).any(-1)
    area = erased.mean()
    assert 0.0 < area <= 0.33 + 0.01  # torchvision's scale=(0.02, 0.33)
    # ImageNet mean in RGB (124, 116, 104), stored BGR
    np.testing.assert_array_equal(np.unique(out[erased], axis=0),
                                  [[104, 116, 124]])


def test_random_erasing_prob_zero_keeps_image(photos):
    _, raw = photos
    bgr = raw[2][..., ::-1].copy()
    out = TRANSFORMS.build(dict(type='RandomErasing', prob=0.0))(
        dict(img=bgr.copy()))['img']
    np.testing.assert_array_equal(out, bgr)


def test_bad_arguments_name_value_and_choices():
    with pytest.raises(ValueError, match="policy must be one of .*'imagnet'"):
        TRANSFORMS.build(dict(type='AutoAugment', policy='imagnet'))
    with pytest.raises(ValueError, match=r'prob must be in \[0, 1\], got 2'):
        TRANSFORMS.build(dict(type='RandomErasing', prob=2))
    with pytest.raises(ValueError, match=r'\(H, W, 3\) uint8'):
        TRANSFORMS.build(dict(type='AutoAugment'))(
            dict(img=np.zeros((4, 4, 3), np.float32)))
