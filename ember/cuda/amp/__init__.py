"""ember.cuda.amp: the deprecated torch.cuda.amp names, kept for old programs.

Each one warns (FutureWarning, PyTorch's message) and forwards to ember.amp with
device_type 'cuda'.
"""
import functools
import warnings

from ... import _dtype
from ...amp import autocast_mode as _autocast_mode
from ...amp import grad_scaler as _grad_scaler

__all__ = ["autocast", "custom_fwd", "custom_bwd", "GradScaler", "amp_definitely_not_available"]


def _warn(old, new):
    warnings.warn(f"`torch.cuda.amp.{old}(args...)` is deprecated. Please use "
                  f"`torch.amp.{new}` instead.", FutureWarning, stacklevel=3)


def amp_definitely_not_available():
    from ... import cuda
    return not cuda.is_available()


class autocast(_autocast_mode.autocast):
    """``torch.cuda.amp.autocast(enabled, dtype, cache_enabled)``: autocast('cuda', ...)."""

    def __init__(self, enabled=True, dtype=_dtype.float16, cache_enabled=True):
        _warn("autocast", "autocast('cuda', args...)")
        super().__init__("cuda", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class GradScaler(_grad_scaler.GradScaler):
    """``torch.cuda.amp.GradScaler(...)``: GradScaler('cuda', ...)."""

    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        _warn("GradScaler", "GradScaler('cuda', args...)")
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)


def custom_fwd(fwd=None, *, cast_inputs=None):
    _warn("custom_fwd", "custom_fwd(args..., device_type='cuda')")
    return functools.partial(_autocast_mode.custom_fwd, device_type="cuda")(
        fwd=fwd, cast_inputs=cast_inputs)


def custom_bwd(bwd):
    _warn("custom_bwd", "custom_bwd(args..., device_type='cuda')")
    return functools.partial(_autocast_mode.custom_bwd, device_type="cuda")(bwd)
