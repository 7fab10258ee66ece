"""Build a neck or head sized from the part that feeds it.

A config may leave out ``in_channels`` (or set it to None): it is then
read from the
backbone's (or neck's) description of its outputs (``out_channels``, from
:attr:`MobileNetV3.feature_info`), so configs do not copy widths.
"""
import inspect
from typing import Optional, Tuple

from torch import nn

from mbv3.registry import MODELS


def output_channels(module: nn.Module, fed: Tuple[int, ...] = ()
                    ) -> Tuple[int, ...]:
    """Channels of each output of ``module``.

    Args:
        module (nn.Module): A backbone, neck or head. Its ``out_channels``
            (an int for all outputs or a sequence, one per output) is
            read; a module without one (pooling) keeps the channels that
            feed it.
        fed (tuple[int]): Channels of the module's inputs.

    Returns:
        tuple[int]: One width per output.
    """
    out = getattr(module, 'out_channels', None)
    if out is None:
        return tuple(fed)
    if isinstance(out, int):
        return (out, ) * getattr(module, 'num_outs', len(fed) or 1)
    return tuple(out)


def build_fed_by(cfg: dict, channels: Tuple[int, ...],
                 last_only: bool = False) -> nn.Module:
    """Build ``cfg`` with ``MODELS``, filling ``in_channels`` from the
    widths of its inputs when the config leaves it out (or sets None) and
    the component takes it.

    Args:
        cfg (dict): Neck or head config.
        channels (tuple[int]): Widths of the inputs, from
            :func:`output_channels`.
        last_only (bool): Give the last width as an int (a classification
            head reads the last feature), not the tuple.

    Returns:
        nn.Module: The built component.
    """
    cfg = dict(cfg)
    if cfg.get('in_channels') is None and _takes_in_channels(
            cfg.get('type')):
        cfg['in_channels'] = channels[-1] if last_only else tuple(channels)
    return MODELS.build(cfg)


def build_encoder(owner: nn.Module, backbone: dict,
                  neck: Optional[dict] = None) -> Tuple[int, ...]:
    """Build ``owner.backbone`` and, with a ``neck`` config, ``owner.neck``
    fed by it (:func:`build_fed_by`).

    Returns:
        tuple[int]: The widths of the features a head receives.
    """
    owner.backbone = MODELS.build(backbone)
    channels = output_channels(owner.backbone)
    if neck is not None:
        owner.neck = build_fed_by(neck, channels)
        channels = output_channels(owner.neck, channels)
    return channels


def _takes_in_channels(type_) -> bool:
    cls = MODELS.get(type_) if isinstance(type_, str) else type_
    return cls is not None and \
        'in_channels' in inspect.signature(cls).parameters
