"""Converted checkpoint files: the weights plus the metadata that rebuilds
the model and its preprocessing.

* ``.pth``: ``{'state_dict': ..., 'meta': {'mbv3': META}}`` (plain types
  only, so it loads with ``torch.load(weights_only=True)``);
* ``.safetensors``: the tensors, and ``META`` as JSON under the metadata
  key ``'mbv3'``.

``META`` is :func:`mbv3.convert.convert_checkpoint`'s metadata. Read back
from a file, it is data: :func:`read_metadata` refuses a model config that
names a type mbv3 has not registered, and preprocessing that is not plain
numbers and known names, before anything is built from them.
"""
import copy
import io
import json
import math
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config

from mbv3.registry import MODELS
from mbv3.utils.checkpoint import (TENSORS_SHA256_KEY, UnsafeCheckpointError,
                                   atomic_write, load_checkpoint_file,
                                   read_safetensors_metadata, tensors_sha256)

META_KEY = 'mbv3'
WRITE_EXTENSIONS = ('.pth', '.safetensors')
# the scope of the types a model config read from a file may name
SCOPE = 'mbv3'
# Pillow resampling names mmcv's ``imresize(backend='pillow')`` takes
INTERPOLATIONS = ('nearest', 'bilinear', 'bicubic', 'box', 'lanczos',
                  'hamming')


def save_converted(path, state_dict: dict, meta: dict) -> None:
    """Write a state dict and its metadata; the format follows ``path``'s
    extension.

    The file is written whole or not at all
    (:func:`mbv3.utils.checkpoint.atomic_write`: a temporary file of its
    own, ``fsync``, rename), so processes converting the same weights at
    once each leave an intact file. A ``.safetensors`` file also records
    the sha256 of its tensors (:func:`mbv3.utils.checkpoint.tensors_sha256`),
    which every load checks.

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
        from safetensors.torch import save
        data = save(tensors, metadata={
            'format': 'pt', META_KEY: json.dumps(meta),
            TENSORS_SHA256_KEY: tensors_sha256(tensors)})
    else:
        buffer = io.BytesIO()
        torch.save({'state_dict': tensors, 'meta': {META_KEY: meta}}, buffer)
        data = buffer.getvalue()
    atomic_write(data, path)


def read_metadata(path) -> Optional[dict]:
    """The conversion metadata of a file, or None if it has none.

    Reads only the safetensors header, or loads a ``.pth`` safely
    (:func:`mbv3.utils.checkpoint.load_checkpoint_file`), then checks that
    the metadata is data (:func:`check_metadata`).

    Raises:
        mbv3.utils.checkpoint.UnsafeCheckpointError: If the model config
            names a type mbv3 has not registered, or a field is not the
            plain value it must be (see :func:`check_metadata`).
        mbv3.utils.checkpoint.CorruptCheckpointError: If the file is
            damaged, or its metadata is not JSON.
    """
    path = os.fspath(path)
    if path.endswith('.safetensors'):
        text = read_safetensors_metadata(path).get(META_KEY)
        try:
            meta = json.loads(text) if text else None
        except ValueError as err:
            raise UnsafeCheckpointError(
                f'refusing {path!r}: its {META_KEY!r} metadata is not JSON '
                f'({err})') from None
    else:
        checkpoint = load_checkpoint_file(path, map_location='cpu')
        meta = checkpoint.get('meta') if isinstance(checkpoint, dict) \
            else None
        meta = meta.get(META_KEY) if isinstance(meta, dict) else None
    if meta is not None:
        check_metadata(meta, path)
    return meta


def _refuse(path, what) -> UnsafeCheckpointError:
    return UnsafeCheckpointError(
        f'refusing {path!r}: its conversion metadata {what}; a model read '
        'from a file may only name what mbv3 registers (a config file '
        'gives any other model)')


def _registered(name: str) -> bool:
    """Whether ``MODELS`` of scope :data:`SCOPE` or its parent holds
    ``name`` (optionally ``'mbv3.'``-prefixed), looked up without
    importing anything the name spells."""
    scope, _, key = name.rpartition('.')
    if scope not in ('', SCOPE):
        return False
    MODELS.import_from_location()
    registry = MODELS
    while registry is not None:
        if key in registry.module_dict:
            return True
        registry = None if scope else registry.parent
    return False


def _check_types(node, path, where) -> None:
    if isinstance(node, dict):
        if 'type' in node:
            kind = node['type']
            if not isinstance(kind, str) or not _registered(kind):
                raise _refuse(path, f'names {where}.type={kind!r}, not a '
                              f'model type registered in {SCOPE!r}')
        for key, value in node.items():
            _check_types(value, path, f'{where}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            _check_types(value, path, f'{where}[{i}]')


def _check_preprocess(preprocess, path) -> None:
    if not isinstance(preprocess, dict):
        raise _refuse(path, f'has preprocess={preprocess!r}, not a dict')
    for key in ('mean', 'std'):
        value = preprocess.get(key)
        if not (isinstance(value, list) and len(value) in (1, 3)
                and all(type(v) in (int, float) and math.isfinite(v)
                        for v in value)):
            raise _refuse(path, f'has preprocess.{key}={value!r}, not a '
                          'list of 1 or 3 finite numbers')
    if preprocess.get('interpolation') not in INTERPOLATIONS:
        raise _refuse(path, f"has preprocess.interpolation="
                      f"{preprocess.get('interpolation')!r}, not one of "
                      f'{INTERPOLATIONS}')
    for key in ('resize', 'crop'):
        value = preprocess.get(key)
        if value is not None and not (type(value) is int and value > 0):
            raise _refuse(path, f'has preprocess.{key}={value!r}, not a '
                          'positive int or None')


def check_metadata(meta, path) -> None:
    """Refuse conversion metadata read from ``path`` unless it is data.

    Every ``type`` in ``meta['model']`` must be a model type registered in
    mbv3's scope (or mmengine's root registry above it), named plainly or
    as ``'mbv3.Name'``: mmengine's registry would import any other dotted
    name, e.g. ``'os.system'``, and call it with the config's arguments.
    ``meta['preprocess']`` must hold finite numbers for ``mean``/``std``,
    a known interpolation and positive ints (or None) for ``resize`` and
    ``crop``: they become the model's data preprocessor and test
    pipeline.

    Args:
        meta: The metadata, as read from the file.
        path (str): The file, named in the error.

    Raises:
        mbv3.utils.checkpoint.UnsafeCheckpointError: One line naming the
            file and the field (and type) refused.
    """
    if not isinstance(meta, dict):
        raise _refuse(path, f'is a {type(meta).__name__}, not a dict')
    if 'model' in meta:
        if not isinstance(meta['model'], dict):
            raise _refuse(path, f"has model={meta['model']!r}, not a dict")
        _check_types(meta['model'], path, 'model')
    if 'preprocess' in meta:
        _check_preprocess(meta['preprocess'], path)


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
