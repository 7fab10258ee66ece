"""Build a model ready for inference from a config and a checkpoint (the
one loader behind :mod:`mbv3.apis`, the exporters and the benchmarks)."""
import copy
import os.path as osp
from typing import Optional, Union

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from mbv3.convert.hub import resolve_checkpoint
from mbv3.datasets.data_root import resolve_num_classes
from mbv3.engine.hooks.qat import META_KEY
from mbv3.models.input_spec import input_spec
from mbv3.models.quantization import prepare_qat
from mbv3.registry import MODELS
from mbv3.utils.checkpoint import load_checkpoint_file
from mbv3.utils.deployment_files import check_not_deployment_file
from mbv3.utils.config_files import read_config
from mbv3.utils.text import printable


def load_config(config) -> Config:
    """A config path (or Config) as a Config; a path not found from the
    current folder is looked up among the installed configs.

    Raises:
        FileNotFoundError: If the path does not exist.
        ValueError: If the file does not parse or defines no model.
        TypeError: If ``config`` is neither a path nor a Config.
    """
    if isinstance(config, (str, bytes)) or hasattr(config, '__fspath__'):
        return read_config(str(config))
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
    check_not_deployment_file(str(checkpoint))
    meta = read_metadata(checkpoint)
    if meta is None:
        raise ValueError(f'checkpoint {checkpoint!r} has no conversion '
                         'metadata, so config=None cannot build its model: '
                         'pass its config, or convert it with '
                         'tools/convert_checkpoint.py')
    return config_from_metadata(meta)


def _prepare_like(model, meta: dict) -> None:
    """A checkpoint saved by a QAT run (:class:`mbv3.engine.hooks.
    QATHook`) holds fake-quantized graphs: prepare the float model the
    same way before loading it."""
    quant = meta.get(META_KEY)
    if quant is None:
        return
    if not isinstance(quant, dict) or quant.get('mode') != 'qat' or \
            'backend' not in quant:
        raise ValueError(f"checkpoint meta[{META_KEY!r}] must be "
                         f"dict(mode='qat', backend=...) as QATHook writes "
                         f'it, got {quant!r}')
    example = torch.zeros(input_spec(model).batch_shape(2))
    prepare_qat(model, example, quant['backend'])


def _check_quantization_keys(state_dict: dict, meta: dict,
                             checkpoint) -> None:
    """A QAT checkpoint's tensors and its meta must agree: fake-quant
    tensors without the meta, or the meta without them, would load into
    the wrong model with only a missing-keys warning."""
    fake_quant = any('fake_quant' in key or 'activation_post_process' in key
                     for key in state_dict)
    marked = meta.get(META_KEY) is not None
    if fake_quant and not marked:
        raise ValueError(f'checkpoint {checkpoint!r} holds fake-quantized '
                         f'tensors but no meta[{META_KEY!r}]: it was not '
                         f'saved by a QATHook run; re-save it with meta '
                         f"{{{META_KEY!r}: dict(mode='qat', "
                         f"backend='x86')}}")
    if marked and not fake_quant:
        raise ValueError(f'checkpoint {checkpoint!r} has meta[{META_KEY!r}]'
                         f' but no fake-quantized tensors: a float '
                         f'checkpoint marked as QAT')


def _checkpoint_classes(meta: dict, checkpoint):
    """The class names of a checkpoint's ``meta['dataset_meta']``, made
    printable (:func:`mbv3.utils.text.printable`): they come from a file
    and end up on the terminal and in result files."""
    classes = (meta.get('dataset_meta') or {}).get('classes')
    if classes is None:
        return None
    if not (isinstance(classes, (list, tuple))
            and all(isinstance(c, str) for c in classes)):
        raise ValueError(f"checkpoint {checkpoint!r}: meta['dataset_meta']"
                         f"['classes'] must be a list of str, got "
                         f'{type(classes).__name__}')
    return tuple(printable(c) for c in classes)


def init_model(config, checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu'):
    """Build a classifier from a config and optionally load a checkpoint.

    The checkpoint is read safely (``weights_only``; see
    :func:`mbv3.utils.checkpoint.load_checkpoint_file`). Class names come
    from the checkpoint's ``meta['dataset_meta']`` when present, with
    control characters escaped (:func:`mbv3.utils.text.printable`); so does
    the class count when the config leaves ``model.head.num_classes`` to
    the data (None; else from the config's folders, see
    :func:`mbv3.datasets.data_root.resolve_num_classes`). With
    ``config=None`` the model, its normalisation and its test pipeline come
    from the metadata ``tools/convert_checkpoint.py`` writes
    (:func:`mbv3.convert.config_from_metadata`). A published checkpoint's
    name (``'mobilenet_v3_large.tv_in1k_v2'`` or ``'mbv3://...'``, see
    ``tools/weights.py list``) is downloaded, checked and converted on first
    use, then read from the cache (:func:`mbv3.convert.hub.fetch`). A
    checkpoint of a quantization-aware fine-tune (``meta['quantization']``,
    written by :class:`mbv3.engine.hooks.QATHook`) gives the fake-quantized
    model; :func:`mbv3.models.quantization.convert` makes it int8.

    Args:
        config (str | Config | None): Config path or object, or None for a
            converted checkpoint.
        checkpoint (str, optional): Checkpoint path (.pth or .safetensors)
            or the name of published weights.
        device (str | torch.device): Where to put the model.

    Returns:
        nn.Module: The model in eval mode, with ``.cfg`` and
        ``.dataset_meta`` set.

    Raises:
        FileNotFoundError: If the config or checkpoint is missing.
        mbv3.convert.hub.WeightsDownloadError: If named weights are not
            cached and cannot be downloaded.
        TypeError: If ``config`` is neither a path, a Config nor None.
        ValueError: If ``config`` is None and the checkpoint has no
            conversion metadata, or its class names are not a list of str.
        mbv3.utils.checkpoint.UnsafeCheckpointError: If ``config`` is None
            and the metadata's model names a type mbv3 has not registered
            (:func:`mbv3.convert.files.check_metadata`).
        FileNotFoundError: If the class count is left to the data and
            neither the checkpoint nor the config's folders give it.
    """
    checkpoint = resolve_checkpoint(checkpoint)
    cfg = _config_from_checkpoint(checkpoint) if config is None else \
        load_config(config)
    init_default_scope(cfg.get('default_scope', 'mbv3'))
    ckpt = None if checkpoint is None else load_checkpoint_file(
        checkpoint, map_location='cpu')
    meta = (ckpt or {}).get('meta') or {}
    classes = _checkpoint_classes(meta, checkpoint)
    if cfg.model.get('head', {}).get('num_classes', 0) is None:
        cfg = copy.deepcopy(cfg)
        resolve_num_classes(cfg, classes)
    model_cfg = cfg.model.copy()
    backbone = model_cfg.get('backbone', {})
    backbone.pop('init_cfg', None)  # the checkpoint provides the weights
    if cfg.get('data_preprocessor') is not None:
        # mmengine's Runner applies a top-level data_preprocessor likewise
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    model.cfg = cfg
    model.dataset_meta = {}
    if ckpt is not None:
        _check_quantization_keys(ckpt.get('state_dict', ckpt), meta,
                                 checkpoint)
    _prepare_like(model, meta)
    if ckpt is not None:
        _load_checkpoint_to_model(model, ckpt, strict=config is None)
        model.dataset_meta = dict(meta.get('dataset_meta') or {})
        if classes is not None:
            model.dataset_meta['classes'] = classes
    if not model.dataset_meta.get('classes'):
        classes = cfg.get('test_dataloader', {}).get('dataset', {}).get(
            'classes')
        if classes:
            model.dataset_meta = dict(classes=tuple(classes))
    return model.to(device).eval()
