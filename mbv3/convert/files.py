"""Converted checkpoint files: the weights plus the metadata that rebuilds
the model and its preprocessing.

* ``.pth``: ``{'state_dict': ..., 'meta': {'mbv3': META}}`` (plain types
  only, so it loads with ``torch.load(weights_only=True)``);
* ``.safetensors``: the tensors, and ``META`` as JSON under the metadata
  key ``'mbv3'``.

``META`` is :func:`mbv3.convert.convert_checkpoint`'s metadata.
"""
import copy
import json
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config

from mbv3.utils.checkpoint import load_checkpoint_file

META_KEY = 'mbv3'
WRITE_EXTENSIONS = ('.pth', '.safetensors')


def save_converted(path, state_dict: dict, meta: dict) -> None:
    """Write a state dict and its metadata; the format follows ``path``'s
    extension.

    Raises:
        ValueError: If the extension is neither .pth nor .safetensors.
    """
    path = os.fspath(path)
    ext = osp.splitext(path)[1]
    if ext not in WRITE_EXTENSIONS:
        raise ValueError(f'output file must end in one of '
                         f'{WRITE_EXTENSIONS}, got {path!r}')
    tensors = {k: v for k, v in state_dict.items()
               if isinstance(v, torch.Tensor)}
    if ext == '.safetensors':
        from safetensors.torch import save_file
        save_file(tensors, path, metadata={'format': 'pt',
                                           META_KEY: json.dumps(meta)})
    else:
        torch.save({'state_dict': tensors, 'meta': {META_KEY: meta}}, path)


def read_metadata(path) -> Optional[dict]:
    """The conversion metadata of a file, or None if it has none.

    Reads only the safetensors header, or loads a ``.pth`` safely
    (:func:`mbv3.utils.checkpoint.load_checkpoint_file`).
    """
    path = os.fspath(path)
    if path.endswith('.safetensors'):
        from safetensors import safe_open
        with safe_open(path, framework='pt') as f:
            text = (f.metadata() or {}).get(META_KEY)
        return json.loads(text) if text else None
    checkpoint = load_checkpoint_file(path, map_location='cpu')
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    return meta.get(META_KEY) if isinstance(meta, dict) else None


def build_test_pipeline(preprocess: dict) -> list:
    """mbv3 test pipeline for recorded preprocessing: load, resize the
    short edge (pillow), center crop, pack."""
    pipeline = [dict(type='LoadImageFromFile', channel_order='rgb')]
    if preprocess.get('resize'):
        pipeline.append(dict(type='ResizeEdge', scale=preprocess['resize'],
                             edge='short', backend='pillow',
                             interpolation=preprocess['interpolation']))
    if preprocess.get('crop'):
        pipeline.append(dict(type='CenterCrop',
                             crop_size=preprocess['crop']))
    pipeline.append(dict(type='PackInputs'))
    return pipeline


def config_from_metadata(meta: dict) -> Config:
    """An mbv3 Config holding the model, its data preprocessor and test
    pipeline, as :func:`mbv3.apis.init_model` and ``inference_model`` use.
    """
    model = copy.deepcopy(meta['model'])
    preprocess = meta['preprocess']
    model['data_preprocessor'] = dict(type='ClsDataPreprocessor',
                                      mean=preprocess['mean'],
                                      std=preprocess['std'])
    return Config(dict(
        default_scope='mbv3', model=model,
        test_dataloader=dict(dataset=dict(
            pipeline=build_test_pipeline(preprocess)))))
