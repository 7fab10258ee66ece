"""int8 through PyTorch's PT2E quantization (torchao): quantization-aware
training (``torch.export``, ``prepare_qat_pt2e``, fine-tune,
``convert_pt2e``) and post-training static quantization (``prepare_pt2e``,
calibrate, ``convert_pt2e``), both with torchao's
``X86InductorQuantizer``; :func:`compile_int8` lowers the result to int8
kernels with ``torch.compile`` (inductor).

An mmengine classifier cannot be exported whole (its ``forward`` takes data
samples and a mode), so its tensor parts are exported one by one and
replaced in place: ``backbone`` and each block of ``head.layers``. The
classifier's ``train_step``/``val_step``, its data preprocessor, its neck
(global average pooling, float) and its head's loss keep working around
them. Batch, height and width stay dynamic in the exported graphs.

What is quantized (the toolkits' defaults for MobileNetV3): the weights of
every conv and linear layer per output channel, symmetric int8; their input
activations per tensor, uint8. Each squeeze-and-excitation block (its
pooling, two 1x1 convs and the multiply) is left in float, as NNCF's
MobileNetV3 pattern does: the gate is a per-channel scale that int8 would
round for every pixel. Post-training int8 then has the biases of its
depthwise convs corrected on the calibration images (:func:`correct_bias`).

Source: the PT2E tutorials of PyTorch/torchao ("PyTorch 2 Export Post
Training Quantization", "... Quantization-Aware Training", "PT2E with X86
Backend through Inductor") and ``torchao.quantization.pt2e``.
"""
from contextlib import contextmanager
from functools import reduce
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch
from torch import nn

from .layers.se_layer import SELayer

BACKENDS = ('x86', )
#: The FX graph mode backends of the retired ``torch.ao.quantization`` path.
RETIRED_BACKENDS = ('fbgemm', 'qnnpack')
#: ``model.quantization`` (and a QAT checkpoint's ``meta['quantization']``):
#: ``dict(mode, backend, recipe)``, mode ``'qat'``, ``'ptq'`` or ``'int8'``.
STATE_ATTR = 'quantization'
RECIPE = 'pt2e'


def check_backend(backend) -> str:
    """Return ``backend`` if it is one of :data:`BACKENDS`.

    Raises:
        ValueError: Otherwise, naming the value and what is allowed.
    """
    if isinstance(backend, str) and backend in BACKENDS:
        return backend
    retired = ''
    if backend in RETIRED_BACKENDS:
        retired = (' (the FX graph mode backends fbgemm and qnnpack were '
                   'retired with torch.ao.quantization; ARM and mobile int8 '
                   'goes through ExecuTorch and XNNPACK: '
                   'tools/deployment/export_executorch.py --int8)')
    raise ValueError(f'backend must be one of {BACKENDS}, got '
                     f'{backend!r}{retired}')


def quantization_state(model: nn.Module) -> Optional[dict]:
    """``dict(mode, backend, recipe)`` of a model prepared or converted
    here (mode ``'qat'``, ``'ptq'`` or ``'int8'``), else None."""
    return getattr(model, STATE_ATTR, None)


def quantizable_parts(model: nn.Module) -> List[Tuple[nn.Module, str]]:
    """``(parent, attribute)`` of each part of a classifier that is
    exported: ``backbone`` and each block of ``head.layers`` (the neck, the
    head's shape check and its loss stay float and eager).

    Raises:
        TypeError: If ``model`` is not a classifier with a ``backbone`` and
            ``extract_feat``.
    """
    if not isinstance(model, nn.Module) or not hasattr(model, 'backbone') \
            or not hasattr(model, 'extract_feat'):
        raise TypeError(f'model must be a classifier with a backbone and '
                        f'extract_feat (e.g. mbv3 ImageClassifier), got '
                        f'{type(model).__name__}')
    parts = [(model, 'backbone')]
    layers = getattr(getattr(model, 'head', None), 'layers', None)
    if layers is not None:
        parts += [(layers, str(i)) for i in range(len(layers))]
    return parts


@torch.no_grad()
def _example_inputs(model: nn.Module, parts, inputs: torch.Tensor) -> list:
    """The input of each part for ``inputs``, in eval mode (no BN update)."""
    was_training = model.training
    model.eval()
    examples = [inputs]
    x = model.extract_feat(inputs)
    x = x[-1] if isinstance(x, (tuple, list)) else x
    for parent, name in parts[1:]:
        examples.append(x)
        x = getattr(parent, name)(x)
    model.train(was_training)
    return examples


def _check_trainable_as_exported(model: nn.Module) -> None:
    """The exported graph has no ``MobileNetV3.train`` override, which keeps
    frozen stages and ``norm_eval`` BNs in eval mode: refuse both rather
    than train them silently."""
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


def _quantizer(part: nn.Module, is_qat: bool):
    """``X86InductorQuantizer`` with per-channel symmetric int8 weights,
    SE blocks left unannotated (float)."""
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
        X86InductorQuantizer, get_default_x86_inductor_quantization_config)
    quantizer = X86InductorQuantizer().set_global(
        get_default_x86_inductor_quantization_config(is_qat=is_qat))
    for name, module in part.named_modules():
        if isinstance(module, SELayer):
            quantizer.set_module_name_qconfig(name, None)
    return quantizer


def _export(part: nn.Module, example: torch.Tensor) -> torch.fx.GraphModule:
    """``torch.export`` with a dynamic batch; the other sizes are those of
    ``example``: a graph with dynamic height and width would be guarded to
    the sizes whose last feature map is as large as the example's (1x1 or
    not), so it would not take both 32 and 224 pixels anyway."""
    dims = {0: torch.export.Dim.AUTO}
    return torch.export.export(part, (example, ),
                               dynamic_shapes=(dims, )).module()


def _prepare(model: nn.Module, inputs: torch.Tensor, backend: str,
             mode: str) -> nn.Module:
    from torchao.quantization.pt2e import allow_exported_model_train_eval
    from torchao.quantization.pt2e.quantize_pt2e import (prepare_pt2e,
                                                         prepare_qat_pt2e)
    check_backend(backend)
    parts = quantizable_parts(model)
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 4:
        raise TypeError(f'inputs must be a (N, C, H, W) Tensor, got '
                        f'{getattr(inputs, "shape", type(inputs).__name__)}')
    if torch.is_inference_mode_enabled():
        raise ValueError('prepare the model outside torch.inference_mode() '
                         '(its observers would be inference tensors that '
                         'training and calibration cannot update)')
    if quantization_state(model) is not None:
        raise ValueError(f'the model is already prepared or converted for '
                         f'quantization: {quantization_state(model)}')
    is_qat = mode == 'qat'
    if is_qat:
        _check_trainable_as_exported(model)
    examples = _example_inputs(model, parts, inputs)
    model.train(is_qat)
    prepare = prepare_qat_pt2e if is_qat else prepare_pt2e
    # exported with grad on: under no_grad the residual add is in place
    # (``add_``), which the quantizer's patterns do not match
    with torch.enable_grad():
        for (parent, name), example in zip(parts, examples):
            part = getattr(parent, name)
            graph = prepare(_export(part, example), _quantizer(part, is_qat))
            if hasattr(part, 'in_channels'):  # read by input_spec
                graph.in_channels = part.in_channels
            setattr(parent, name, allow_exported_model_train_eval(graph))
    setattr(model, STATE_ATTR, dict(mode=mode, backend=backend,
                                    recipe=RECIPE))
    return model


def prepare_qat(model: nn.Module, inputs: torch.Tensor,
                backend: str = 'x86') -> nn.Module:
    """Insert fake quantization for quantization-aware training, in place:
    each part of :func:`quantizable_parts` becomes the exported graph that
    ``prepare_qat_pt2e`` gives (BN kept and folded into the conv weights
    as they are fake-quantized; weights and activations fake-quantized).
    ``model.train()``/``eval()`` switch its BN and dropout
    (``allow_exported_model_train_eval``).

    Prepare after the float weights are loaded; the state-dict keys of the
    convs and BNs stay, observer buffers are added
    (``backbone.activation_post_process_<i>...``).

    Args:
        model (nn.Module): A classifier (``backbone``, ``extract_feat``,
            ``head.layers``); left in train mode.
        inputs (Tensor): An example input ``(N, C, H, W)``, normalised; the
            prepared graphs take any ``N, H, W`` the float model takes.
        backend (str): One of :data:`BACKENDS`, recorded in
            ``model.quantization`` for :func:`convert`. Defaults to
            ``'x86'``.

    Returns:
        nn.Module: ``model`` itself, prepared.

    Raises:
        ValueError: For an unknown backend, a prepared model, a backbone
            with ``norm_eval=True`` or ``frozen_stages >= 0`` (the exported
            graph would train them), or a call under
            ``torch.inference_mode()``.
        TypeError: If ``model`` is not a classifier or ``inputs`` not a
            4-d Tensor.
    """
    return _prepare(model, inputs, backend, 'qat')


def prepare_ptq(model: nn.Module, inputs: torch.Tensor,
                backend: str = 'x86') -> nn.Module:
    """Insert observers for post-training static quantization
    (``prepare_pt2e``; BN folded into the convs), in place; run calibration
    data through it, then :func:`convert`. Arguments, return and errors as
    :func:`prepare_qat`, the model being left in eval mode."""
    return _prepare(model, inputs, backend, 'ptq')


def convert(model: nn.Module, backend: Optional[str] = None) -> nn.Module:
    """Replace each prepared part with its quantized graph
    (``convert_pt2e``: int8 weights, quantize/dequantize pairs around the
    quantized ops), in place, for the backend the model was prepared for
    (``model.quantization['backend']``, which a QAT checkpoint records).
    The result runs in eval mode, in float arithmetic that rounds as int8
    does; :func:`compile_int8` lowers it to int8 kernels. Outputs are float
    logits ``(N, num_classes)``.

    Args:
        model (nn.Module): From :func:`prepare_qat` (or a QAT checkpoint's
            :func:`mbv3.apis.init_model`) or :func:`prepare_ptq`.
        backend (str, optional): None takes the recorded backend; another
            one than that is refused (the fake quantization or calibration
            simulated the recorded backend's kernels).

    Returns:
        nn.Module: ``model`` itself.

    Raises:
        ValueError: For a model that was not prepared, one already
            converted, or a ``backend`` other than the recorded one.
    """
    from torchao.quantization.pt2e import allow_exported_model_train_eval
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e
    state = quantization_state(model)
    if state is None:
        raise ValueError('convert needs a model from prepare_qat or '
                         'prepare_ptq; this one is float (a float '
                         'checkpoint, or one without meta["quantization"])')
    if state['mode'] == 'int8':
        raise ValueError('the model is already converted to int8')
    if backend is not None and backend != state['backend']:
        raise ValueError(f'backend={backend!r} differs from the backend the '
                         f'model was prepared for, {state["backend"]!r} (its '
                         f'checkpoint meta["quantization"] records it): its '
                         f'quantization simulated that backend; convert with '
                         f'backend=None or {state["backend"]!r}')
    model.cpu().eval()
    for parent, name in quantizable_parts(model):
        setattr(parent, name, allow_exported_model_train_eval(
            convert_pt2e(getattr(parent, name))))
    setattr(model, STATE_ATTR, dict(state, mode='int8'))
    return model


class _FrozenCompiled(nn.Module):
    """``torch.compile`` of an int8 graph, called with inductor's
    ``freezing`` on (it must be on when the first call compiles; as a
    ``torch.compile`` option it does not make the weights constants)."""

    def __init__(self, graph: nn.Module):
        super().__init__()
        self.compiled = torch.compile(graph)

    def forward(self, x: torch.Tensor):
        with torch._inductor.config.patch(freezing=True):
            return self.compiled(x)


def compile_int8(model: nn.Module) -> nn.Module:
    """Lower a :func:`convert`-ed model to int8 kernels, in place: each
    exported part through ``torch.compile`` (inductor with ``freezing``,
    which folds the quantize/dequantize pairs into oneDNN int8 convolutions
    and linears; the PT2E X86 inductor tutorial). Call it under
    ``torch.no_grad()``. The first call at each batch size compiles (about
    a minute for the digits model on a loaded 2-core CPU; see
    ``docs/deployment.md``).

    Raises:
        ValueError: If ``model`` is not converted to int8.
    """
    state = quantization_state(model)
    if state is None or state['mode'] != 'int8':
        raise ValueError(f'compile_int8 needs a model from convert, got one '
                         f'with quantization state {state}')
    for parent, name in quantizable_parts(model):
        setattr(parent, name, _FrozenCompiled(getattr(parent, name)))
    return model


#: The layers whose int8 weights bias correction compensates.
LAYER_OPS = (torch.ops.aten.conv2d.default, torch.ops.aten.linear.default)
#: Which int8 layers :func:`quantize_ptq` corrects (``bias_correction``):
#: the depthwise convs, every int8 conv and linear, or none.
BIAS_CORRECTION = ('depthwise', 'all', None)


def _is_int8_weight(node, graph_module: torch.fx.GraphModule) -> bool:
    """Whether ``node`` (a layer's weight argument) is a constant weight
    quantized to int8: observed in a prepared graph, dequantized from a
    constant in a converted one (an activation's dequantize takes a
    ``quantize`` node instead)."""
    from torchao.quantization.pt2e import ObserverBase
    if not isinstance(node, torch.fx.Node) or not node.args:
        return False
    source = node.args[0]
    if not isinstance(source, torch.fx.Node) or source.op != 'get_attr':
        return False
    if node.op == 'call_module':
        return isinstance(graph_module.get_submodule(node.target),
                          ObserverBase)
    return node.op == 'call_function' and 'dequantize' in str(node.target)


def _is_depthwise(node: torch.fx.Node) -> bool:
    """A grouped conv2d (``groups``, argument 6, above 1): MobileNetV3's
    only grouped convs are its depthwise ones."""
    return node.target is torch.ops.aten.conv2d.default and \
        len(node.args) > 6 and node.args[6] > 1


def quantized_layers(graph_module: torch.fx.GraphModule,
                     scope: str = 'all') -> List[str]:
    """Names of the conv2d and linear nodes of a prepared or converted
    part whose weights are int8, in graph order (the SE blocks' float
    convs are not among them); with ``scope='depthwise'`` only the
    depthwise convs among them.

    Raises:
        ValueError: If ``scope`` is not ``'all'`` or ``'depthwise'``.
    """
    if scope not in ('all', 'depthwise'):
        raise ValueError(f"scope must be 'all' or 'depthwise', got "
                         f'{scope!r}')
    return [node.name for node in graph_module.graph.nodes
            if node.op == 'call_function' and node.target in LAYER_OPS
            and _is_int8_weight(node.args[1], graph_module)
            and (scope == 'all' or _is_depthwise(node))]


def _channel_dim(node: torch.fx.Node) -> int:
    """Output channels: dim 1 of a conv's ``(N, C, H, W)``, the last of a
    linear's ``(..., C)``."""
    return 1 if node.target is torch.ops.aten.conv2d.default else -1


def _channel_mean(out: torch.Tensor, dim: int) -> torch.Tensor:
    dims = [d for d in range(out.dim()) if d != dim % out.dim()]
    return out.double().mean(dims)


class _LayerMeans(torch.fx.Interpreter):
    """Runs a part, its observers passing their input through untouched,
    and keeps the per-channel mean of each layer of ``layers`` in
    ``means``. Given ``targets``, it first adds ``target - mean`` to that
    layer's bias and output, so that every later layer sees the corrected
    one."""

    def __init__(self, graph_module, layers, targets=None):
        super().__init__(graph_module)
        self.layers, self.targets, self.means = set(layers), targets, {}

    def call_module(self, target, args, kwargs):
        from torchao.quantization.pt2e import ObserverBase
        if isinstance(self.fetch_attr(target), ObserverBase):
            return args[0]
        return super().call_module(target, args, kwargs)

    def run_node(self, node):
        out = super().run_node(node)
        if node.name not in self.layers:
            return out
        dim = _channel_dim(node)
        mean = _channel_mean(out, dim)
        self.means[node.name] = mean
        if self.targets is None:
            return out
        shift = (self.targets[node.name] - mean).to(out.dtype)
        self.fetch_attr(node.args[2].target).add_(shift)
        shape = [1] * out.dim()
        shape[dim] = -1
        return out + shift.view(shape)


@torch.no_grad()
def layer_means(part: torch.fx.GraphModule, inputs: torch.Tensor,
                layers: Sequence[str]) -> Dict[str, torch.Tensor]:
    """Per-output-channel mean of the output of each layer of ``layers``
    over ``inputs``: the float reference of :func:`correct_bias` when
    taken on a prepared part (its observers pass their input through and
    keep their statistics).

    Args:
        part (GraphModule): An exported part of :func:`quantizable_parts`,
            prepared or converted.
        inputs (Tensor): The part's input for the calibration images, all
            of them in one batch (e.g. ``(N, C, H, W)``, contiguous).
        layers (Sequence[str]): Node names, e.g. of
            :func:`quantized_layers`.

    Returns:
        dict: Layer name -> ``(C_out, )`` float64 means.
    """
    interpreter = _LayerMeans(part, layers)
    interpreter.run(inputs)
    return interpreter.means


def _add_missing_biases(part: torch.fx.GraphModule,
                        layers: Sequence[str]) -> None:
    """A zero bias (a buffer) for each layer of ``layers`` that has none,
    as long as its int8 weight's dim 0."""
    nodes = {node.name: node for node in part.graph.nodes}
    for name in layers:
        node = nodes[name]
        if len(node.args) > 2 and node.args[2] is not None:
            continue
        weight = reduce(getattr, node.args[1].args[0].target.split('.'),
                        part)
        attr = f'{name}_bias'
        part.register_buffer(attr, torch.zeros(weight.shape[0]))
        with part.graph.inserting_before(node):
            bias = part.graph.get_attr(attr)
        node.args = (*node.args[:2], bias, *node.args[3:])
    part.recompile()


@torch.no_grad()
def correct_bias(part: torch.fx.GraphModule, inputs: torch.Tensor,
                 reference: Dict[str, torch.Tensor]
                 ) -> Dict[str, torch.Tensor]:
    """Full bias correction of a converted int8 part, in place: for each
    layer named in ``reference``, in graph order, add to its bias the
    per-output-channel mean over ``inputs`` of (float output - int8
    output), the int8 output being that of the part with every earlier
    layer already corrected. This removes the shift that rounding the
    weights (and the activations) puts in the mean of a layer's output; a
    depthwise conv, 9 weights per channel, rounds to a biased sum. A
    layer without a bias gets one. The graph keeps its ops, so
    :func:`compile_int8` lowers it as before.

    Source: Nagel et al., "Data-Free Quantization Through Weight
    Equalization and Bias Correction", ICCV 2019, section 4.2 (bias
    correction, here with empirical means of calibration data); NNCF's
    ``BiasCorrection`` (``fast_bias_correction=False``), which corrects
    each layer after the earlier ones, as here (its fast variant feeds
    every layer float inputs instead).

    Args:
        part (GraphModule): A part of :func:`quantizable_parts` after
            ``convert_pt2e``.
        inputs (Tensor): The int8 model's input of this part for the
            calibration images, in one batch (the outputs of the corrected
            earlier parts).
        reference (dict): :func:`layer_means` of the same part prepared
            (float), on the float model's input of this part for the same
            images: layer name -> ``(C_out, )``.

    Returns:
        dict: Layer name -> the ``(C_out, )`` shift added to its bias.

    Raises:
        ValueError: If ``reference`` names a layer that is not one of the
            part's :func:`quantized_layers`.
    """
    layers = [name for name in quantized_layers(part) if name in reference]
    unknown = sorted(set(reference) - set(layers))
    if unknown:
        raise ValueError(f'reference names {unknown}, which are not int8 '
                         f'layers of this part; its int8 layers are '
                         f'{quantized_layers(part)}')
    _add_missing_biases(part, layers)
    interpreter = _LayerMeans(part, layers, reference)
    interpreter.run(inputs)
    return {name: reference[name] - interpreter.means[name]
            for name in layers}


@contextmanager
def _recorded_inputs(parts):
    """The input of each part of ``parts`` in the forwards run inside:
    one list per part, one tensor per forward."""
    inputs = [[] for _ in parts]
    handles = [getattr(parent, name).register_forward_pre_hook(
        lambda module, args, i=i: inputs[i].append(args[0]))
        for i, (parent, name) in enumerate(parts)]
    try:
        yield inputs
    finally:
        for handle in handles:
            handle.remove()


def quantize_ptq(model: nn.Module, batches: Iterable[torch.Tensor],
                 backend: str = 'x86',
                 bias_correction: Optional[str] = 'depthwise') -> nn.Module:
    """Post-training static int8, in place: :func:`prepare_ptq`, run every
    calibration batch ``(N, C, H, W)`` (normalised, e.g.
    :func:`mbv3.deploy.calibration.calibration_batches`), :func:`convert`,
    then :func:`correct_bias` of each part in order on the same batches
    (the float means are taken from the prepared model before converting).
    Bias correction holds one part's activations for all calibration
    images at once.

    Args:
        model (nn.Module): A float classifier, as :func:`prepare_ptq`.
        batches (Iterable[Tensor]): Calibration batches of one
            ``(C, H, W)``.
        backend (str): One of :data:`BACKENDS`.
        bias_correction (str, optional): Which int8 layers to correct, one
            of :data:`BIAS_CORRECTION`: ``'depthwise'`` (default), ``'all'``
            (every int8 conv and linear, NNCF's set) or None. The default
            was chosen on the calibration images alone (fitted on half of
            them, scored on the other half): on the digits and textures
            models it brought the int8 logits closest to fp32, where
            ``'all'``, whose dense layers' corrections follow the
            calibration images' clipping more than the rounding of the
            weights, did not (``docs/int8.md``).

    Returns:
        nn.Module: ``model`` itself, int8.

    Raises:
        ValueError: If ``batches`` is empty, ``bias_correction`` is not
            one of :data:`BIAS_CORRECTION`, or as :func:`prepare_ptq`.
    """
    if bias_correction not in BIAS_CORRECTION:
        raise ValueError(f'bias_correction must be one of {BIAS_CORRECTION},'
                         f' got {bias_correction!r}')
    batches = list(batches)
    if not batches:
        raise ValueError('quantize_ptq needs at least one calibration batch')
    prepare_ptq(model, batches[0], backend)
    parts = quantizable_parts(model)
    with torch.no_grad(), _recorded_inputs(parts) as inputs:
        for x in batches:
            model(x)
    if bias_correction is not None:
        reference = []
        for (parent, name), xs in zip(parts, inputs):
            part = getattr(parent, name)
            reference.append(layer_means(
                part, torch.cat(xs), quantized_layers(part, bias_correction)))
    convert(model)
    if bias_correction is not None:
        for part, means in zip(parts, reference):
            with torch.no_grad(), _recorded_inputs([part]) as inputs:
                for x in batches:
                    model(x)
            correct_bias(getattr(*part), torch.cat(inputs[0]), means)
    return model
