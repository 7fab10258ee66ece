"""What the backbone needs to be captured into a graph: knowing when it
is being captured, and a TorchScript-compilable form of its forward."""
from typing import Dict, List, Sequence

import torch
from torch import nn


def is_capturing() -> bool:
    """True while FX symbolic tracing, ``torch.jit.trace`` (and the ONNX
    exporter built on it), ``torch.compile`` or ``torch.export`` runs the
    model. Python-side input checks are skipped then: an FX ``Proxy`` is
    not a Tensor, and a check on traced shapes would be baked into the
    graph as a constant or a guard."""
    return (torch.fx._symbolic_trace.is_fx_symbolic_tracing()
            or torch.jit.is_tracing() or torch.compiler.is_compiling())


class ScriptableLayers(nn.ModuleDict):
    """The layers of a backbone run in order, in a form ``torch.jit.script``
    compiles: a ``ModuleDict`` (TorchScript unrolls loops over it) holding
    the backbone's own layer modules under their own names, so the scripted
    module shares the weights and has the backbone's state-dict keys.

    Shape: ``(N, C, H, W) -> list`` of the outputs of the layers at
    ``out_positions``, in that order. TorchScript has no tuples of
    per-model length, so it returns a list where the eager backbone
    returns a tuple.

    Args:
        layers (dict[str, nn.Module]): Layer name -> module, in run order.
        out_positions (Sequence[int]): Positions in ``layers`` of the
            outputs, in output order.
    """

    def __init__(self, layers: Dict[str, nn.Module],
                 out_positions: Sequence[int]):
        super().__init__(layers)
        self.out_positions = list(out_positions)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        feats: List[torch.Tensor] = []
        for layer in self.values():
            x = layer(x)
            feats.append(x)
        return [feats[i] for i in self.out_positions]
