"""Data for post-training quantization: a fixed calibration subset and the
evaluation batches, both through the test pipeline."""
import copy
from typing import List, Tuple

import numpy as np
import torch

CALIB_IMAGES = 256
CALIB_SEED = 0


def _test_pipeline(cfg) -> list:
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if not loader:
        raise ValueError('the config has neither test_dataloader nor '
                         'val_dataloader, whose pipeline calibration uses')
    return copy.deepcopy(loader['dataset']['pipeline'])


def calibration_indices(length: int, num_images: int = CALIB_IMAGES,
                        seed: int = CALIB_SEED) -> List[int]:
    """A seeded subset of ``range(length)``, sorted: the same ``length``,
    ``num_images`` and ``seed`` give the same indices on every run.

    Raises:
        ValueError: If ``num_images`` < 1 or ``length`` < 1.
    """
    if num_images < 1 or length < 1:
        raise ValueError(f'need num_images >= 1 and a non-empty data set, '
                         f'got num_images={num_images}, length={length}')
    rng = np.random.default_rng(seed)
    picked = rng.choice(length, min(num_images, length), replace=False)
    return sorted(int(i) for i in picked)


def _batches(loader_cfg, model, skipped=None
             ) -> List[Tuple[torch.Tensor, np.ndarray]]:
    """Unreadable image files are skipped (:func:`~mbv3.datasets.
    skip_bad_files`) and appended to ``skipped`` (``dict(image, error)``).
    """
    from mmengine.runner import Runner

    from mbv3.datasets import skip_bad_files
    from mbv3.datasets.bad_files import SKIPPED_KEY
    loader = Runner.build_dataloader(skip_bad_files(loader_cfg))
    batches = []
    with torch.no_grad():
        for data in loader:
            found = data.pop(SKIPPED_KEY, [])
            if skipped is not None:
                skipped.extend(found)
            if not data['inputs']:
                continue
            data = model.data_preprocessor(data, False)
            labels = torch.stack([s.gt_label for s in data['data_samples']])
            batches.append((data['inputs'], labels.reshape(-1).numpy()))
    return batches


def split_batches(cfg, model, split: str = 'val', skipped=None):
    """Every sample of a config's ``{split}_dataloader``, in order, as
    normalised ``(inputs (N, C, H, W), labels (N,))`` pairs (the model's
    data preprocessor applied, no augmentation: the split's own pipeline).

    Args:
        cfg (Config): A config whose data is on disk.
        model (nn.Module): Supplies ``data_preprocessor``.
        split (str): 'train', 'val' or 'test'.
        skipped (list, optional): Gets ``dict(image, error)`` of each
            unreadable image file, which is left out.
    """
    loader_cfg = copy.deepcopy(dict(cfg[f'{split}_dataloader']))
    loader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=False)
    return _batches(loader_cfg, model, skipped)


def calibration_batches(cfg, model, num_images: int = CALIB_IMAGES,
                        seed: int = CALIB_SEED, batch_size: int = 32,
                        skipped=None):
    """The int8 calibration data: a fixed, seeded subset of the train split
    through the test pipeline (resize, no random crop), so that the same
    checkpoint always gives the same int8 model.

    Args:
        cfg (Config): A config with ``train_dataloader`` and a test (or
            val) pipeline, whose data is on disk.
        model (nn.Module): Supplies ``data_preprocessor``.
        num_images (int): Subset size (all images when the split is
            smaller). Defaults to 256.
        seed (int): Picks the subset (:func:`calibration_indices`).
        batch_size (int): Images per batch. Defaults to 32.
        skipped (list, optional): Gets ``dict(image, error)`` of each
            unreadable image file, which is left out.

    Returns:
        list[tuple[Tensor, ndarray]]: ``(inputs (N, C, H, W), labels
        (N,))``, inputs normalised as the model's data preprocessor does.
    """
    dataset = copy.deepcopy(dict(cfg['train_dataloader']['dataset']))
    dataset['pipeline'] = _test_pipeline(cfg)
    length = len(_build_dataset(dataset))
    dataset['indices'] = calibration_indices(length, num_images, seed)
    loader_cfg = dict(batch_size=batch_size, num_workers=0, dataset=dataset,
                      sampler=dict(type='DefaultSampler', shuffle=False))
    return _batches(loader_cfg, model, skipped)


def _build_dataset(dataset_cfg):
    from mmengine.registry import DATASETS
    return DATASETS.build(dataset_cfg)
