"""Quantization-aware training as a config switch: the hook that turns a
float classifier into its fake-quantized PT2E graphs
(:func:`mbv3.models.quantization.prepare_qat`) for a fine-tune."""
import os
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mbv3.models.input_spec import input_spec, pipeline_size
from mbv3.models.quantization import (RECIPE, STATE_ATTR, check_backend,
                                      prepare_qat, quantizable_parts)
from mbv3.registry import HOOKS
from mbv3.utils.checks import check_int
from mbv3.utils.checkpoint import load_checkpoint_file

#: The key of ``checkpoint['meta']`` that marks a QAT checkpoint, read by
#: :func:`mbv3.apis.init_model` to prepare before loading.
META_KEY = STATE_ATTR
#: What replaced the FX graph mode QAT recipes, named in their error.
NEW_RECIPE = ('re-run the QAT recipe (configs/mobilenet_v3/'
              'mobilenet-v3-small_digits_qat.py or ..._textures_qat.py, '
              'QATHook on PT2E) from the float checkpoint it fine-tuned')


def qat_meta(checkpoint) -> Optional[dict]:
    """``dict(mode='qat', backend=..., recipe='pt2e')`` when ``checkpoint``
    (a loaded dict or a path) was saved by a :class:`QATHook` run, else
    None.

    Raises:
        ValueError: For a checkpoint of the retired FX graph mode QAT
            recipes (a meta without ``recipe='pt2e'``), naming the recipe
            to run instead, or a malformed meta.
    """
    if not isinstance(checkpoint, dict):
        checkpoint = load_checkpoint_file(checkpoint, map_location='cpu')
    quant = (checkpoint.get('meta') or {}).get(META_KEY)
    if quant is None:
        return None
    if not isinstance(quant, dict) or quant.get('mode') != 'qat' or \
            'backend' not in quant:
        raise ValueError(f"checkpoint meta[{META_KEY!r}] must be "
                         f"dict(mode='qat', backend=..., recipe={RECIPE!r}) "
                         f'as QATHook writes it, got {quant!r}')
    if quant.get('recipe') != RECIPE:
        raise ValueError(f'this checkpoint is a quantization-aware fine-tune '
                         f'of the retired FX graph mode recipe '
                         f'(torch.ao.quantization, meta {quant!r}), whose '
                         f'graphs PT2E cannot load: {NEW_RECIPE}')
    return quant


def _freeze_bn_stats(model) -> None:
    """Keep BN statistics fixed in the exported training graphs (the
    ``training`` argument of ``aten.batch_norm`` set to False, as the PT2E
    QAT tutorial does). ``model.train()`` sets it back, so this runs before
    each iteration."""
    for parent, name in quantizable_parts(model):
        graph_module = getattr(parent, name)
        changed = False
        for node in graph_module.graph.nodes:
            if node.target is torch.ops.aten.batch_norm.default and \
                    node.args[5]:
                node.args = (*node.args[:5], False, *node.args[6:])
                changed = True
        if changed:
            graph_module.recompile()


def _check_epoch(name: str, value) -> None:
    if value is not None:
        check_int(name, value, low=0, allowed='None or an int >= 0 (the '
                  'epoch, counted from 0, from which it applies)')


@HOOKS.register_module()
class QATHook(Hook):
    """Fine-tune a float classifier with fake quantization (PT2E QAT:
    torchao's ``prepare_qat_pt2e`` with ``X86InductorQuantizer``): prepares
    the model, freezes BN statistics and observers at the given epochs, keeps
    the observers still while validating, and marks the checkpoints.

    * Training from float weights (``load_from`` a float checkpoint): the
      model is prepared in ``before_train``, after the weights are loaded
      and the optimizer is built (the optimizer keeps its parameters:
      :func:`~mbv3.models.quantization.prepare_qat`).
    * Resuming, or testing a QAT checkpoint (``tools/test.py CONFIG
      CKPT``): prepared in ``before_run``, before the checkpoint is loaded,
      since its keys are those of the prepared graphs.
    * The val loop evaluates the fake-quantized model (observers off);
      the int8 model is :func:`~mbv3.models.quantization.convert` of the
      model :func:`mbv3.apis.init_model` builds from a saved checkpoint,
      for the backend the checkpoint records.
    * The exported graphs take the pipeline's input size (any batch).

    Args:
        backend (str): One of :data:`mbv3.models.quantization.BACKENDS`.
            Defaults to ``'x86'``.
        freeze_bn_epoch (int, optional): From this epoch (0-based) on, BN
            running statistics stay fixed. None: never.
        freeze_observer_epoch (int, optional): From this epoch on, the
            quantization ranges stay fixed. None: never.

    Raises:
        ValueError: For an unknown backend or a negative epoch; when
            resuming or testing a checkpoint of the retired FX recipe.
    """

    priority = 'HIGH'

    def __init__(self, backend: str = 'x86',
                 freeze_bn_epoch: Optional[int] = None,
                 freeze_observer_epoch: Optional[int] = None):
        check_backend(backend)
        _check_epoch('freeze_bn_epoch', freeze_bn_epoch)
        _check_epoch('freeze_observer_epoch', freeze_observer_epoch)
        self.backend = backend
        self.freeze_bn_epoch = freeze_bn_epoch
        self.freeze_observer_epoch = freeze_observer_epoch
        self.prepared = False
        self.observers_frozen = False
        self.bn_frozen = False

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def _prepare(self, runner) -> None:
        if self.prepared:
            return
        model = self._model(runner)
        spec = input_spec(model, pipeline_size(runner.cfg))
        device = next(model.parameters()).device
        was_training = model.training
        prepare_qat(model, torch.zeros(spec.batch_shape(2), device=device),
                    self.backend)
        model.train(was_training)
        self.prepared = True
        runner.logger.info(f'QAT: backbone and head layers prepared with '
                           f'fake quantization ({self.backend})')

    def before_run(self, runner) -> None:
        load_from = getattr(runner, '_load_from', None)
        if getattr(runner, '_resume', False) or (
                load_from and os.path.isfile(load_from) and
                qat_meta(load_from) is not None):
            self._prepare(runner)

    def before_train(self, runner) -> None:
        if not self.prepared and not getattr(runner, '_load_from', None):
            runner.logger.warning(
                'QAT: no load_from: fake quantization starts from the '
                "config's initial weights; a QAT recipe fine-tunes a trained "
                'float model (--cfg-options load_from=<float checkpoint>)')
        self._prepare(runner)

    def before_train_epoch(self, runner) -> None:
        from torchao.quantization.pt2e import disable_observer
        if self.freeze_bn_epoch is not None and \
                runner.epoch >= self.freeze_bn_epoch:
            self.bn_frozen = True
        if self.freeze_observer_epoch is not None and \
                runner.epoch >= self.freeze_observer_epoch:
            self._model(runner).apply(disable_observer)
            self.observers_frozen = True

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if self.bn_frozen:
            _freeze_bn_stats(self._model(runner))

    def _observers(self, runner, enable: bool) -> None:
        from torchao.quantization.pt2e import disable_observer, enable_observer
        if self.prepared:
            self._model(runner).apply(
                enable_observer if enable else disable_observer)

    def before_val_epoch(self, runner) -> None:
        self._observers(runner, False)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._observers(runner, not self.observers_frozen)

    def before_test_epoch(self, runner) -> None:
        if not self.prepared:
            runner.logger.warning('QAT: the checkpoint is float (no '
                                  f'{META_KEY!r} in its meta): testing the '
                                  'float model')
        self._observers(runner, False)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.prepared:
            checkpoint.setdefault('meta', {})[META_KEY] = dict(
                mode='qat', backend=self.backend, recipe=RECIPE)
