"""Collate packed samples into batch tensors."""
from typing import List, Sequence

import torch

from mbv3.registry import FUNCTIONS


def _stack_or_list(tensors: Sequence[torch.Tensor]):
    first = tensors[0].shape
    if all(t.shape == first for t in tensors):
        return torch.stack(tensors)
    return list(tensors)


@FUNCTIONS.register_module()
def collate_batch(data_batch: List[dict]) -> dict:
    """Turn the items of :class:`~mbv3.datasets.transforms.PackInputs` into
    one image tensor and one label tensor.

    A data loader worker sends the batch to the main process by pickling
    it; two tensors cost a fraction of a list of per-image data samples
    (mmengine's ``pseudo_collate``), and the data preprocessor moves them
    to the device in two copies. The classifier's head and the metrics
    read the labels from the tensor
    (:meth:`~mbv3.models.heads.StackedLinearClsHead.loss`,
    :meth:`~mbv3.models.heads.StackedLinearClsHead.predict`).

    Shape: ``N`` items of ``inputs`` ``(C, H, W)`` uint8 ->
    ``inputs`` ``(N, C, H, W)`` uint8; ``gt_label`` ``(1,)`` ->
    ``data_samples`` ``(N,)`` int64, or None when the items have no label.
    Inputs of different shapes (e.g. a test pipeline without a crop, or
    encoded image bytes) stay a list of ``N`` tensors, which the data
    preprocessor stacks after its own transforms.

    Args:
        data_batch (list[dict]): ``dict(inputs=..., data_samples=...)`` per
            image.

    Returns:
        dict: ``inputs`` and ``data_samples`` as above.

    Raises:
        ValueError: For an empty batch, or one where some items have a
            label and others do not.
    """
    if not data_batch:
        raise ValueError('collate_batch got an empty batch')
    inputs = _stack_or_list([item['inputs'] for item in data_batch])
    labelled = ['gt_label' in item['data_samples'] for item in data_batch]
    if not any(labelled):
        return dict(inputs=inputs, data_samples=None)
    if not all(labelled):
        raise ValueError(f'collate_batch got {labelled.count(False)} of '
                         f'{len(data_batch)} items without gt_label; label '
                         'all items of a batch or none')
    labels = torch.cat([item['data_samples'].gt_label for item in data_batch])
    return dict(inputs=inputs, data_samples=labels)
