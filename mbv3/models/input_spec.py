"""What a model takes as input: the one place every tool (ONNX export,
benchmark, FLOPs, inference, visualisation) reads the channel count, the
input size and the normalisation from."""
import numbers
from typing import NamedTuple, Optional, Sequence, Tuple

from torch import nn

DEFAULT_SIZE = (224, 224)  # (H, W) when the model's config names none


class InputSpec(NamedTuple):
    """A model's input image.

    ``mean``/``std`` are per channel in 0..255 pixel units, in the model's
    channel order (RGB for a colour model whose preprocessor swaps BGR);
    zeros and ones when the preprocessor does not normalise.
    """
    channels: int
    height: int
    width: int
    mean: Tuple[float, ...]
    std: Tuple[float, ...]

    @property
    def shape(self) -> Tuple[int, int, int]:
        """``(C, H, W)``."""
        return (self.channels, self.height, self.width)

    def batch_shape(self, batch: int = 1) -> Tuple[int, int, int, int]:
        """``(N, C, H, W)`` for a batch of ``batch`` images."""
        return (batch, self.channels, self.height, self.width)


def model_channels(model: nn.Module) -> int:
    """The input channels of ``model``: its backbone's ``in_channels``, or
    the first conv's.

    Raises:
        ValueError: If the model has neither.
    """
    backbone = getattr(model, 'backbone', model)
    channels = getattr(backbone, 'in_channels', None)
    if isinstance(channels, numbers.Integral):
        return int(channels)
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)),
                None)
    if conv is None:
        raise ValueError(f'cannot tell the input channels of '
                         f'{type(model).__name__}: no backbone.in_channels '
                         'and no Conv2d')
    return conv.in_channels


def _pair(value) -> Tuple[int, int]:
    """mmcv's ``(w, h)`` or a single side -> ``(h, w)``."""
    if isinstance(value, numbers.Integral):
        return int(value), int(value)
    return int(value[1]), int(value[0])


def pipeline_size(cfg) -> Optional[Tuple[int, int]]:
    """``(H, W)`` of the images a config's test pipeline produces: the last
    ``CenterCrop``'s ``crop_size`` or fixed-size ``Resize``'s ``scale``
    (mmcv's ``(w, h)`` order), or None."""
    try:
        pipeline = cfg['test_dataloader']['dataset']['pipeline']
    except (KeyError, TypeError):
        return None
    for transform in reversed(list(pipeline)):
        kind = str(transform.get('type', '')).split('.')[-1]
        if kind == 'CenterCrop':
            return _pair(transform['crop_size'])
        if kind == 'Resize' and transform.get('scale') is not None and \
                not transform.get('keep_ratio', False):
            return _pair(transform['scale'])
    return None


def pipeline_channel_order(cfg) -> str:
    """The channel order of the images a config's test pipeline loads:
    the ``channel_order`` of its ``LoadImageFromFile`` ('rgb', or mmcv's
    default 'bgr'); 'bgr' when the config names no such step. An image
    given as an array skips the loading and must be in this order."""
    try:
        pipeline = cfg['test_dataloader']['dataset']['pipeline']
    except (KeyError, TypeError):
        return 'bgr'
    for transform in pipeline:
        if str(transform.get('type', '')).split('.')[-1] == \
                'LoadImageFromFile':
            return transform.get('channel_order', 'bgr')
    return 'bgr'


def _normalisation(model, channels):
    prep = getattr(model, 'data_preprocessor', None)
    if not getattr(prep, '_enable_normalize', False):
        return (0.0, ) * channels, (1.0, ) * channels
    mean = tuple(prep.mean.flatten().tolist())
    std = tuple(prep.std.flatten().tolist())
    if len(mean) != channels:
        raise ValueError(f'the data preprocessor has {len(mean)} mean/std '
                         f'values but the model takes {channels} input '
                         f'channels; give one per channel, e.g. mean='
                         f'{[127.5] * channels}')
    return mean, std


def input_spec(model: nn.Module,
               size: Optional[Sequence[int]] = None) -> InputSpec:
    """The input a model expects.

    * channels: :func:`model_channels` (``backbone.in_channels``);
    * size: ``size`` if given, else what the test pipeline of
      ``model.cfg`` (set by :func:`mbv3.apis.init_model`) crops or resizes
      to (:func:`pipeline_size`), else 224 x 224;
    * mean/std: the data preprocessor's.

    Args:
        model (nn.Module): A classifier or segmentor (or a bare backbone).
        size (Sequence[int], optional): ``(H, W)`` in pixels, overriding
            the config's.

    Returns:
        InputSpec: Channels, height, width, mean and std.

    Raises:
        ValueError: If ``size`` is not two ints >= 1, or the preprocessor's
            mean/std have another length than the channel count.
    """
    channels = model_channels(model)
    if size is None:
        size = pipeline_size(getattr(model, 'cfg', None)) or DEFAULT_SIZE
    size = tuple(size)
    if len(size) != 2 or not all(
            isinstance(s, numbers.Integral) and s >= 1 for s in size):
        raise ValueError(f'size must be (H, W), two ints >= 1 (pixels), got '
                         f'{size!r}')
    mean, std = _normalisation(model, channels)
    return InputSpec(channels, int(size[0]), int(size[1]), mean, std)
