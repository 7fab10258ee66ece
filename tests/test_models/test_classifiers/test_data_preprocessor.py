import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.model import ImgDataPreprocessor

from mbv3.datasets import collate_batch
from mbv3.models.classifiers.data_preprocessor import ClsDataPreprocessor
from mbv3.structures import DataSample

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def items(n=5, size=(3, 9, 7), seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [dict(inputs=torch.randint(0, 256, size, dtype=torch.uint8,
                                      generator=gen),
                 data_samples=DataSample().set_gt_label(i % 3))
            for i in range(n)]


@pytest.mark.parametrize('to_rgb', [False, True])
@pytest.mark.parametrize('divisor', [1, 4])
def test_batch_equals_mmengines_per_image_path(to_rgb, divisor):
    """Same numbers, bit for bit, as mmengine's ImgDataPreprocessor on
    pseudo_collate's list (the path before batch collation)."""
    batch = items()
    old = ImgDataPreprocessor(mean=MEAN, std=STD, bgr_to_rgb=to_rgb,
                              pad_size_divisor=divisor)(
                                  pseudo_collate(batch))['inputs']
    prep = ClsDataPreprocessor(mean=MEAN, std=STD, to_rgb=to_rgb,
                               pad_size_divisor=divisor)
    new = prep(collate_batch(batch))
    assert new['inputs'].shape == old.shape == (
        5, 3, 12 if divisor == 4 else 9, 8 if divisor == 4 else 7)
    assert torch.equal(new['inputs'], old)
    assert new['data_samples'].tolist() == [0, 1, 2, 0, 1]
    # pseudo_collate's list of the same images: the same batch
    assert torch.equal(prep(pseudo_collate(batch))['inputs'], old)


def test_rgb_swap_reverses_the_channels():
    image = torch.tensor([10, 20, 30], dtype=torch.uint8).view(1, 3, 1, 1)
    out = ClsDataPreprocessor(to_rgb=True)(dict(inputs=image))['inputs']
    assert out.flatten().tolist() == [30.0, 20.0, 10.0]
    out = ClsDataPreprocessor()(dict(inputs=image))['inputs']
    assert out.flatten().tolist() == [10.0, 20.0, 30.0]


def test_images_of_different_sizes_are_padded_as_mmengine_does():
    batch = items(2) + items(1, size=(3, 5, 11), seed=1)
    old = ImgDataPreprocessor(mean=MEAN, std=STD)(pseudo_collate(batch))
    new = ClsDataPreprocessor(mean=MEAN, std=STD)(collate_batch(batch))
    assert new['inputs'].shape == (3, 3, 9, 11)
    assert torch.equal(new['inputs'], old['inputs'])


def test_one_channel_and_channels_last():
    batch = [dict(inputs=torch.full((1, 4, 4), 255, dtype=torch.uint8),
                  data_samples=DataSample().set_gt_label(1))]
    out = ClsDataPreprocessor(mean=[127.5], std=[127.5],
                              channels_last=True)(collate_batch(batch))
    assert out['inputs'].shape == (1, 1, 4, 4)
    assert out['inputs'].unique().tolist() == [1.0]
    image = torch.zeros((2, 3, 4, 4), dtype=torch.uint8)
    out = ClsDataPreprocessor(channels_last=True)(dict(inputs=image))
    assert out['inputs'].is_contiguous(memory_format=torch.channels_last)


def test_data_samples_list_is_kept():
    batch = pseudo_collate(items(2))
    out = ClsDataPreprocessor(mean=MEAN, std=STD)(batch)
    assert [int(s.gt_label) for s in out['data_samples']] == [0, 1]


def test_wrong_rank_is_refused():
    with pytest.raises(ValueError, match=r'got shape \(3, 4, 4\)'):
        ClsDataPreprocessor()(dict(inputs=torch.zeros(3, 4, 4)))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_pinned_batch_reaches_the_gpu_equal():
    batch = collate_batch(items())
    batch = dict(inputs=batch['inputs'].pin_memory(),
                 data_samples=batch['data_samples'].pin_memory())
    prep = ClsDataPreprocessor(mean=MEAN, std=STD)
    cpu = prep(dict(batch))['inputs']
    out = prep.cuda()(batch)
    assert out['inputs'].is_cuda and out['data_samples'].is_cuda
    torch.testing.assert_close(out['inputs'].cpu(), cpu)


def aten_ops(fn) -> int:
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        calls = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            Count.calls += 1
            return func(*args, **(kwargs or {}))

    with Count():
        fn()
    return Count.calls


def test_a_batch_takes_a_few_ops_not_a_few_per_image():
    """64 images: mmengine's per-image path runs 3 tensor ops per image
    (convert, subtract, divide; 209 in all on CPU); this one a few for the
    whole batch."""
    batch = items(64, size=(3, 32, 32))
    collated = collate_batch(batch)
    prep = ClsDataPreprocessor(mean=MEAN, std=STD)
    ours = aten_ops(lambda: prep(dict(collated)))
    theirs = aten_ops(lambda: ImgDataPreprocessor(mean=MEAN, std=STD)(
        pseudo_collate(batch)))
    assert ours <= 6
    assert theirs >= 3 * 64
