"""Mixed-precision training that also works without CUDA."""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from mbv3.registry import OPTIM_WRAPPERS


def grad_scaler(device: str, loss_scale='dynamic'):
    """torch's ``GradScaler`` for fp16 on ``device``.

    Args:
        device (str): 'cuda' (or 'cpu', where torch's scaler also runs).
        loss_scale (str | float): 'dynamic' (start at 2**16, halve on
            inf/NaN gradients, double after 2000 good steps) or a fixed
            scale.

    Returns:
        tuple: The scaler, and the fixed scale to pass to ``update`` after
        each step (None for dynamic), which keeps the scale fixed.
    """
    if loss_scale == 'dynamic':
        return torch.amp.GradScaler(device), None
    return torch.amp.GradScaler(device, init_scale=float(loss_scale)), \
        float(loss_scale)


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(OptimWrapper):
    """Autocast training step on CPU (bf16) and CUDA (bf16 or fp16).

    mmengine 0.10.7's ``AmpOptimWrapper`` asserts that CUDA is present;
    this one takes the device from the model. bf16 (the default) needs no
    loss scaling; fp16 (CUDA only) uses ``torch.amp.GradScaler`` with
    ``loss_scale='dynamic'`` or a fixed float scale. In mbv3's scope it
    replaces mmengine's class under the same name, so ``--amp`` and
    ``optim_wrapper=dict(type='AmpOptimWrapper')`` use it.

    Args:
        dtype (str | torch.dtype): 'bfloat16' (default) or 'float16'.
        loss_scale (str | float): fp16 only: 'dynamic' or a fixed scale.
        **kwargs: Passed to ``OptimWrapper`` (``optimizer``, ``clip_grad``,
            ``accumulative_counts``).

    Raises:
        ValueError: For another dtype, or fp16 without CUDA.
    """

    def __init__(self, dtype='bfloat16', loss_scale='dynamic', **kwargs):
        super().__init__(**kwargs)
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype, None)
        if dtype not in (torch.bfloat16, torch.float16):
            raise ValueError(f"AmpOptimWrapper dtype must be 'bfloat16' or "
                             f"'float16', got {dtype!r}")
        self.cast_dtype = dtype
        self.loss_scaler = None
        self._static_scale = None
        if dtype == torch.float16:
            if not torch.cuda.is_available():
                raise ValueError('AmpOptimWrapper dtype float16 needs CUDA; '
                                 "use dtype='bfloat16' on CPU")
            self.loss_scaler, self._static_scale = grad_scaler(
                'cuda', loss_scale)

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        if self.loss_scaler is not None:
            loss = self.loss_scaler.scale(loss)
        loss.backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        if self.loss_scaler is None:
            return super().step(**kwargs)
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._static_scale)

    def state_dict(self) -> dict:
        state = self.optimizer.state_dict()
        if self.loss_scaler is not None:
            state['loss_scaler'] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        scaler_state = state_dict.pop('loss_scaler', None)
        if scaler_state is not None and self.loss_scaler is not None:
            self.loss_scaler.load_state_dict(scaler_state)
        self.optimizer.load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model):
        device = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(
                device_type=device, dtype=self.cast_dtype):
            yield
