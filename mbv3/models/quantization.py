"""int8 through PyTorch's FX graph mode quantization (``torch.ao.
quantization``): quantization-aware training (``prepare_qat_fx``, fine-tune,
``convert_fx``) and its fallback, post-training static quantization
(``prepare_fx``, calibrate, ``convert_fx``).

An mmengine classifier cannot be traced whole (its ``forward`` takes data
samples and a mode), so its tensor parts are traced one by one and replaced
in place: ``backbone`` and each block of ``head.layers``. The classifier's
``train_step``/``val_step``, its data preprocessor, its neck (global average
pooling, which stays float: it has no weights and its type dispatch on
tuple or Tensor does not trace) and its head's loss keep working around
them. Each part becomes its own graph with a quantize at its input and a
dequantize at its output.

Source: PyTorch's "FX Graph Mode Quantization" user guide and
``torch.ao.quantization.quantize_fx`` (``get_default_qat_qconfig_mapping``,
``get_default_qconfig_mapping``; the ``'x86'`` backend, fbgemm's kernels
with reduced-range activations).
"""
from typing import Iterable, List, Tuple

import torch
from torch import nn
from torch.ao.quantization import FakeQuantizeBase
from torch.ao.quantization.observer import ObserverBase

BACKENDS = ('x86', 'fbgemm', 'qnnpack')


def check_backend(backend) -> str:
    """Return ``backend`` if it is one of :data:`BACKENDS` and this torch
    build has its quantized engine.

    Raises:
        ValueError: Otherwise, naming the value and what is allowed.
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got '
                         f'{backend!r}')
    if backend not in torch.backends.quantized.supported_engines:
        raise ValueError(f'this torch build has no {backend!r} quantized '
                         f'engine; it has '
                         f'{torch.backends.quantized.supported_engines}')
    return backend


def quantizable_parts(model: nn.Module) -> List[Tuple[nn.Module, str]]:
    """``(parent, attribute)`` of each part of a classifier that is traced:
    ``backbone`` and each block of ``head.layers`` (the neck, the head's
    shape check and its loss stay float and eager).

    Raises:
        TypeError: If ``model`` has no ``backbone`` (not a classifier).
    """
    if not isinstance(model, nn.Module) or not hasattr(model, 'backbone'):
        raise TypeError(f'model must be a classifier with a backbone (e.g. '
                        f'mbv3 ImageClassifier), got '
                        f'{type(model).__name__}')
    parts = [(model, 'backbone')]
    if not hasattr(model, 'extract_feat'):
        raise TypeError(f'model must be a classifier with extract_feat '
                        f'(e.g. mbv3 ImageClassifier), got '
                        f'{type(model).__name__}')
    layers = getattr(getattr(model, 'head', None), 'layers', None)
    if layers is not None:
        parts += [(layers, str(i)) for i in range(len(layers))]
    return parts


@torch.no_grad()
def _example_inputs(model: nn.Module, parts, inputs: torch.Tensor) -> list:
    """The input of each part for ``inputs``, in eval mode (no BN update)."""
    was_training = model.training
    model.eval()
    examples = [(inputs, )]
    x = model.extract_feat(inputs)
    x = x[-1] if isinstance(x, (tuple, list)) else x
    for parent, name in parts[1:]:
        examples.append((x, ))
        x = getattr(parent, name)(x)
    model.train(was_training)
    return examples


def _check_trainable_as_traced(model: nn.Module) -> None:
    """The traced graph has no ``MobileNetV3.train`` override, which keeps
    frozen stages and ``norm_eval`` BNs in eval mode: refuse both rather
    than train them silently (or fail in torch's conv-BN fuser)."""
    backbone = model.backbone
    if getattr(backbone, 'norm_eval', False):
        raise ValueError('quantization-aware training needs the backbone\'s '
                         'BN layers in train mode, got norm_eval=True; set '
                         'norm_eval=False (QATHook freeze_bn_epoch freezes '
                         'BN statistics instead)')
    if getattr(backbone, 'frozen_stages', -1) >= 0:
        raise ValueError(f'quantization-aware training fine-tunes every '
                         f'layer, got frozen_stages='
                         f'{backbone.frozen_stages}; set frozen_stages=-1')


def _replace_parts(model: nn.Module, inputs: torch.Tensor, prepare,
                   qconfig_mapping) -> nn.Module:
    parts = quantizable_parts(model)
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 4:
        raise TypeError(f'inputs must be a (N, C, H, W) Tensor, got '
                        f'{getattr(inputs, "shape", type(inputs).__name__)}')
    if torch.is_inference_mode_enabled():
        raise ValueError('prepare the model outside torch.inference_mode() '
                         '(its observers would be inference tensors that '
                         'training and calibration cannot update)')
    if any(isinstance(getattr(p, n), torch.fx.GraphModule)
           for p, n in parts):
        raise ValueError('the model is already prepared or converted for '
                         'quantization (its parts are FX graphs)')
    examples = _example_inputs(model, parts, inputs)
    # traced with grad on: under no_grad the residual add is in place
    # (``add_``), which the quantization patterns do not match
    with torch.enable_grad():
        for (parent, name), example in zip(parts, examples):
            setattr(parent, name, prepare(getattr(parent, name),
                                          qconfig_mapping, example))
    return model


def prepare_qat(model: nn.Module, inputs: torch.Tensor,
                backend: str = 'x86') -> nn.Module:
    """Insert fake quantization for quantization-aware training: each part
    of :func:`quantizable_parts` becomes the FX graph ``prepare_qat_fx``
    gives (conv + BN fused into ``ConvBn2d`` that folds BN into the weights,
    fake-quantized weights and activations), in place.

    The fused modules take over the float modules' ``Parameter`` objects,
    so an optimizer built before still updates them (tested). Prepare after
    the float weights are loaded: the state-dict keys change (e.g.
    ``backbone.<conv>.bn.weight``).

    Args:
        model (nn.Module): A classifier (``backbone``, ``extract_feat``,
            ``head.layers``), put in train mode.
        inputs (Tensor): An example input ``(N, C, H, W)``, normalised; the
            prepared graphs take any ``H, W`` the float model takes.
        backend (str): One of :data:`BACKENDS`. Defaults to ``'x86'``.

    Returns:
        nn.Module: ``model`` itself, prepared.

    Raises:
        ValueError: For an unknown backend, a prepared model, a backbone
            with ``norm_eval=True`` or ``frozen_stages >= 0`` (the traced
            graph would train them), or a call under
            ``torch.inference_mode()``.
        TypeError: If ``model`` is not a classifier or ``inputs`` not a
            4-d Tensor.
    """
    from torch.ao.quantization import get_default_qat_qconfig_mapping
    from torch.ao.quantization.quantize_fx import prepare_qat_fx
    mapping = get_default_qat_qconfig_mapping(check_backend(backend))
    quantizable_parts(model)
    _check_trainable_as_traced(model)
    model.train()
    return _replace_parts(model, inputs, prepare_qat_fx, mapping)


def prepare_ptq(model: nn.Module, inputs: torch.Tensor,
                backend: str = 'x86') -> nn.Module:
    """Insert observers for post-training static quantization
    (``prepare_fx``; BN folded into the convs), in place; run calibration
    data through it, then :func:`convert`. Arguments, return and errors as
    :func:`prepare_qat`, the model being put in eval mode."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import prepare_fx
    mapping = get_default_qconfig_mapping(check_backend(backend))
    quantizable_parts(model)
    model.eval()
    return _replace_parts(model, inputs, prepare_fx, mapping)


def convert(model: nn.Module, backend: str = 'x86') -> nn.Module:
    """Replace each prepared part with its int8 graph (``convert_fx``), in
    place, and select ``backend``'s quantized engine. The result runs on
    CPU in eval mode; its outputs are float logits ``(N, num_classes)``.

    Raises:
        ValueError: For an unknown backend, a model that was not
            prepared (:func:`prepare_qat`, :func:`prepare_ptq`), or one
            already converted.
    """
    from torch.ao.quantization.quantize_fx import convert_fx
    check_backend(backend)
    parts = quantizable_parts(model)
    if not all(isinstance(getattr(p, n), torch.fx.GraphModule)
               for p, n in parts):
        raise ValueError('convert needs a model from prepare_qat or '
                         'prepare_ptq; this one has float parts (a float '
                         'checkpoint, or one without meta["quantization"])')
    if not any(isinstance(m, (FakeQuantizeBase, ObserverBase))
               for m in model.modules()):
        raise ValueError('the model is already converted to int8')
    torch.backends.quantized.engine = backend
    model.cpu().eval()
    for parent, name in parts:
        setattr(parent, name, convert_fx(getattr(parent, name)))
    return model


def quantize_ptq(model: nn.Module, batches: Iterable[torch.Tensor],
                 backend: str = 'x86') -> nn.Module:
    """Post-training static int8 (the fallback to QAT): :func:`prepare_ptq`,
    run every calibration batch ``(N, C, H, W)``, :func:`convert`.

    Raises:
        ValueError: If ``batches`` is empty, or as :func:`prepare_ptq`.
    """
    batches = list(batches)
    if not batches:
        raise ValueError('quantize_ptq needs at least one calibration batch')
    prepare_ptq(model, batches[0], backend)
    with torch.no_grad():
        for x in batches:
            model(x)
    return convert(model, backend)
