"""Quantization-aware training as a config switch: the hook that turns a
float classifier into its fake-quantized FX graphs
(:func:`mbv3.models.quantization.prepare_qat`) for a fine-tune."""
import os
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mbv3.models.input_spec import input_spec, pipeline_size
from mbv3.models.quantization import check_backend, prepare_qat
from mbv3.registry import HOOKS
from mbv3.utils.checks import check_int
from mbv3.utils.checkpoint import load_checkpoint_file

#: The key of ``checkpoint['meta']`` that marks a QAT checkpoint, read by
#: :func:`mbv3.apis.model.init_model` to prepare before loading.
META_KEY = 'quantization'


def qat_meta(checkpoint) -> Optional[dict]:
    """``dict(mode='qat', backend=...)`` when ``checkpoint`` (a loaded dict
    or a path) was saved by a :class:`QATHook` run, else None."""
    if not isinstance(checkpoint, dict):
        checkpoint = load_checkpoint_file(checkpoint, map_location='cpu')
    return (checkpoint.get('meta') or {}).get(META_KEY)


def _check_epoch(name: str, value) -> None:
    if value is not None:
        check_int(name, value, low=0, allowed='None or an int >= 0 (the '
                  'epoch, counted from 0, from which it applies)')


@HOOKS.register_module()
class QATHook(Hook):
    """Fine-tune a float classifier with fake quantization (FX graph mode
    QAT, PyTorch's "Quantization Aware Training" recipe): prepares the
    model, freezes BN statistics and observers at the given epochs, keeps
    the observers still while validating, and marks the checkpoints.

    * Training from float weights (``load_from`` a float checkpoint): the
      model is prepared in ``before_train``, after the weights are loaded
      and the optimizer is built (the optimizer keeps its parameters:
      :func:`~mbv3.models.quantization.prepare_qat`).
    * Resuming, or testing a QAT checkpoint (``tools/test.py CONFIG
      CKPT``): prepared in ``before_run``, before the checkpoint is loaded,
      since its keys are those of the prepared graphs.
    * The val loop evaluates the fake-quantized model (observers off);
      ``tools/deployment/``'s int8 conversion is
      :func:`~mbv3.models.quantization.convert` of the model
      :func:`mbv3.apis.model.init_model` builds from a saved checkpoint.

    Args:
        backend (str): One of ``('x86', 'fbgemm', 'qnnpack')``. Defaults
            to ``'x86'``.
        freeze_bn_epoch (int, optional): From this epoch (0-based) on, BN
            running statistics stay fixed. None: never.
        freeze_observer_epoch (int, optional): From this epoch on, the
            quantization ranges stay fixed. None: never.

    Raises:
        ValueError: For an unknown backend or a negative epoch.
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
        from torch.ao.nn.intrinsic.qat import freeze_bn_stats
        from torch.ao.quantization import disable_observer
        model = self._model(runner)
        if self.freeze_bn_epoch is not None and \
                runner.epoch >= self.freeze_bn_epoch:
            model.apply(freeze_bn_stats)
        if self.freeze_observer_epoch is not None and \
                runner.epoch >= self.freeze_observer_epoch:
            model.apply(disable_observer)
            self.observers_frozen = True

    def _observers(self, runner, enable: bool) -> None:
        from torch.ao.quantization import disable_observer, enable_observer
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
                mode='qat', backend=self.backend)
