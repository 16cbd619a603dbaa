"""Gradient clipping (in place, without recording a graph)."""
import math

import numpy as np

from ..._tensor import Tensor
from ...autograd import grad_mode


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p._grad for p in parameters if p._grad is not None]


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of the norms of `tensors` (a tensor or an iterable of them): the norm of
    all their elements taken as one vector; 0 for none."""
    from ..._ops.creation import tensor
    norm_type = float(norm_type)
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if not tensors:
        return tensor(0.0)
    arrays = [t._data.astype(np.float64) if t._data.dtype.kind == "V" else t._data
              for t in tensors]
    if abs(norm_type) == math.inf and any(a.size == 0 for a in arrays):
        raise RuntimeError("_foreach_norm cannot compute the infinity norm on an empty tensor "
                           "because the operation does not have an identity")
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(a))) if a.size else 0.0 for a in arrays)
    elif norm_type == -math.inf:
        total = min(float(np.min(np.abs(a))) if a.size else math.inf for a in arrays)
    else:
        norms = [np.sum(np.abs(a.astype(np.float64)) ** norm_type) for a in arrays]
        total = float(sum(norms)) ** (1.0 / norm_type)  # one host sync on CUDA
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           f"is non-finite, so it cannot be clipped. To disable this error and "
                           f"scale the gradients by the non-finite norm anyway, set "
                           f"`error_if_nonfinite=False`")
    return tensor(total, dtype=tensors[0].dtype, device=tensors[0].device)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients of `parameters` by min(1, max_norm / (total_norm + 1e-6)), with
    `total_norm` computed beforehand (get_total_norm): clip_grad_norm_ in two steps, so the
    norm can be combined across groups or processes in between."""
    _scale_to(_grads(parameters), max_norm, total_norm)


def _scale_to(grads, max_norm, total_norm):
    if not grads:
        return
    if isinstance(total_norm, Tensor):
        total_norm = total_norm.item()   # one host sync on CUDA
    coef = float(max_norm) / (float(total_norm) + 1e-6)
    if coef < 1:
        with grad_mode.no_grad():
            for g in grads:
                g._data *= g._data.dtype.type(coef)
                g._bump_version()


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients so their joint norm is at most max_norm; returns the norm."""
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    _scale_to(grads, max_norm, total)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    import warnings
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    grads = list(_grads(parameters))
    if not grads:
        # PyTorch groups the gradients by device and dtype first, which refuses an empty list
        # (parameters without gradients, e.g. right after zero_grad(set_to_none=True))
        raise RuntimeError("Expected !nested_tensorlist[0].empty() to be true, but got false.  "
                           "(Could this error message be improved?  If so, please report an "
                           "enhancement request to PyTorch.)")
    for g in grads:
        np.clip(g._data, -clip_value, clip_value, out=g._data)
        g._bump_version()
