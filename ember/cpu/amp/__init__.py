"""ember.cpu.amp: the deprecated torch.cpu.amp names, kept for old programs.

Each one warns (FutureWarning, PyTorch's message) and forwards to ember.amp with
device_type 'cpu' (autocast's dtype defaults to bfloat16 there, as PyTorch's).
"""
import warnings

from ... import _dtype
from ...amp import autocast_mode as _autocast_mode
from ...amp import grad_scaler as _grad_scaler

__all__ = ["autocast", "GradScaler"]


def _warn(old, new):
    warnings.warn(f"`torch.cpu.amp.{old}(args...)` is deprecated. Please use "
                  f"`torch.amp.{new}` instead.", FutureWarning, stacklevel=3)


class autocast(_autocast_mode.autocast):
    """``torch.cpu.amp.autocast(enabled, dtype, cache_enabled)``: autocast('cpu', ...)."""

    def __init__(self, enabled=True, dtype=_dtype.bfloat16, cache_enabled=True):
        _warn("autocast", "autocast('cpu', args...)")
        super().__init__("cpu", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class GradScaler(_grad_scaler.GradScaler):
    """``torch.cpu.amp.GradScaler(...)``: GradScaler('cpu', ...)."""

    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        _warn("GradScaler", "GradScaler('cpu', args...)")
        super().__init__("cpu", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)
