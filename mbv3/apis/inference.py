"""Build a model from a config and classify images with it."""
import os.path as osp
from typing import Optional, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from mbv3.registry import MODELS


def _to_config(config) -> Config:
    if isinstance(config, (str, bytes)) or hasattr(config, '__fspath__'):
        path = str(config)
        if not osp.isfile(path):
            raise FileNotFoundError(f'config {path!r} does not exist')
        return Config.fromfile(path)
    if isinstance(config, Config):
        return config
    raise TypeError(f'config must be a path or an mmengine Config, got '
                    f'{type(config).__name__}')


def _config_from_checkpoint(checkpoint) -> Config:
    from mbv3.convert import config_from_metadata, read_metadata
    if checkpoint is None:
        raise ValueError('init_model needs a config, or a checkpoint written '
                         'by tools/convert_checkpoint.py; got neither')
    if not osp.isfile(str(checkpoint)):
        raise FileNotFoundError(f'checkpoint {checkpoint!r} does not exist')
    meta = read_metadata(checkpoint)
    if meta is None:
        raise ValueError(f'checkpoint {checkpoint!r} has no conversion '
                         'metadata, so config=None cannot build its model: '
                         'pass its config, or convert it with '
                         'tools/convert_checkpoint.py')
    return config_from_metadata(meta)


def init_model(config, checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu'):
    """Build a classifier from a config and optionally load a checkpoint.

    The checkpoint is read safely (``weights_only``; see
    :func:`mbv3.utils.checkpoint.load_checkpoint_file`). Class names come
    from the checkpoint's ``meta['dataset_meta']`` when present. With
    ``config=None`` the model, its normalisation and its test pipeline come
    from the metadata ``tools/convert_checkpoint.py`` writes
    (:func:`mbv3.convert.config_from_metadata`).

    Args:
        config (str | Config | None): Config path or object, or None for a
            converted checkpoint.
        checkpoint (str, optional): Checkpoint path (.pth or .safetensors).
        device (str | torch.device): Where to put the model.

    Returns:
        nn.Module: The model in eval mode, with ``.cfg`` and
        ``.dataset_meta`` set.

    Raises:
        FileNotFoundError: If the config or checkpoint is missing.
        TypeError: If ``config`` is neither a path, a Config nor None.
        ValueError: If ``config`` is None and the checkpoint has no
            conversion metadata.
    """
    cfg = _config_from_checkpoint(checkpoint) if config is None else \
        _to_config(config)
    init_default_scope(cfg.get('default_scope', 'mbv3'))
    model_cfg = cfg.model.copy()
    backbone = model_cfg.get('backbone', {})
    backbone.pop('init_cfg', None)  # the checkpoint provides the weights
    if cfg.get('data_preprocessor') is not None:
        # mmengine's Runner applies a top-level data_preprocessor likewise
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    model.cfg = cfg
    model.dataset_meta = {}
    if checkpoint is not None:
        ckpt = load_checkpoint(model, checkpoint, map_location='cpu',
                               strict=config is None)
        model.dataset_meta = ckpt.get('meta', {}).get('dataset_meta', {})
    if not model.dataset_meta.get('classes'):
        classes = cfg.get('test_dataloader', {}).get('dataset', {}).get(
            'classes')
        if classes:
            model.dataset_meta = dict(classes=tuple(classes))
    return model.to(device).eval()


def _test_pipeline(cfg, from_array: bool):
    pipeline = [dict(t) for t in cfg.test_dataloader.dataset.pipeline]
    if from_array and pipeline[0]['type'].endswith('LoadImageFromFile'):
        pipeline = pipeline[1:]
    return Compose(pipeline)


@torch.no_grad()
def inference_model(model, image: Union[str, np.ndarray]) -> dict:
    """Classify one image.

    Args:
        model (nn.Module): From :func:`init_model`.
        image (str | np.ndarray): Image path, or a ``(H, W, 3)`` uint8 BGR
            array (OpenCV's layout).

    Returns:
        dict: ``pred_label`` (int), ``pred_score`` (float, softmax
        probability), ``pred_class`` (str, or None without class names)
        and ``pred_scores`` (``(num_classes,)`` numpy array).

    Raises:
        FileNotFoundError: If the path does not exist.
        ValueError: If the array is not ``(H, W, 3)`` uint8.
    """
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f'image array must be (H, W, 3) uint8 BGR, got '
                             f'shape {image.shape} dtype {image.dtype}')
        data = dict(img=image, img_shape=image.shape[:2],
                    ori_shape=image.shape[:2])
    else:
        if not osp.isfile(str(image)):
            raise FileNotFoundError(f'image {image!r} does not exist')
        data = dict(img_path=str(image))
    pipeline = _test_pipeline(model.cfg, isinstance(image, np.ndarray))
    batch = pseudo_collate([pipeline(data)])
    sample = model.test_step(batch)[0]
    scores = sample.pred_score.float().cpu()
    label = int(sample.pred_label.item())
    classes = model.dataset_meta.get('classes')
    return dict(pred_label=label, pred_score=float(scores[label]),
                pred_class=classes[label] if classes else None,
                pred_scores=scores.numpy())
