"""Tensor repr, laid out as PyTorch lays it out (with `ember.` for `torch.`)."""
import numpy as np

from . import _dtype

__all__ = ["set_printoptions", "get_printoptions"]

_OPTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    if profile == "default":
        _OPTS.update(precision=4, threshold=1000, edgeitems=3, linewidth=80)
    elif profile == "short":
        _OPTS.update(precision=2, threshold=1000, edgeitems=2, linewidth=80)
    elif profile == "full":
        _OPTS.update(precision=4, threshold=float("inf"), edgeitems=3, linewidth=80)
    for k, v in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                 ("linewidth", linewidth)):
        if v is not None:
            _OPTS[k] = v
    _OPTS["sci_mode"] = sci_mode


def get_printoptions():
    return dict(_OPTS)


def _fmt_data(arr, dt):
    a = arr.astype(np.float64) if dt.is_floating_point else arr
    if dt.is_floating_point:
        p = _OPTS["precision"]
        return np.array2string(a, separator=", ", precision=p, floatmode="maxprec_equal",
                               threshold=_OPTS["threshold"], edgeitems=_OPTS["edgeitems"],
                               max_line_width=_OPTS["linewidth"], prefix="tensor(")
    return np.array2string(a, separator=", ", threshold=_OPTS["threshold"],
                           edgeitems=_OPTS["edgeitems"], max_line_width=_OPTS["linewidth"],
                           prefix="tensor(")


def tensor_repr(t):
    """A simple PyTorch-like repr (the full formatter replaces this)."""
    arr = t._cpu_array()
    dt = t.dtype
    if arr.ndim == 0:
        v = arr.item()
        body = _fmt_data(arr.reshape(1), dt)[1:-1]
    else:
        body = _fmt_data(arr, dt)
    suffix = []
    if arr.size == 0 and arr.ndim != 1:
        suffix.append(f"size={tuple(arr.shape)}")
    if t.device.type != "cpu":
        suffix.append(f"device='{t.device}'")
    if dt not in (_dtype.float32, _dtype.int64, _dtype.bool) and dt is not _dtype.get_default_dtype():
        suffix.append(f"dtype={dt}")
    elif dt is _dtype.float32 and _dtype.get_default_dtype() is not _dtype.float32:
        suffix.append(f"dtype={dt}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        suffix.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + s for s in suffix) + ")"
