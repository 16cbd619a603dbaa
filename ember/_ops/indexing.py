"""Indexing: __getitem__ (basic -> views, advanced -> copies) and __setitem__."""
import numbers

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ._base import Op, apply
from ._util import cast

__all__ = ["nonzero"]


def _convert_key(key):
    """Translate an index (ints, slices, None, Ellipsis, tensors, lists) to a NumPy key.

    Returns (key, advanced) where advanced tells whether NumPy will copy.
    """
    if not isinstance(key, tuple):
        key = (key,)
    out, advanced = [], False
    for k in key:
        if isinstance(k, Tensor):
            if k.dtype is _dtype.bool or k.dtype is _dtype.uint8:
                out.append(k._data.astype(bool, copy=False))
                advanced = True
            elif k.dtype.is_floating_point or k.dtype.is_complex:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            elif k._data.ndim == 0:
                out.append(int(k._data))
            else:
                out.append(k._data)
                advanced = True
        elif isinstance(k, (list, np.ndarray)):
            a = np.asarray(k) if not isinstance(k, list) or not any(
                isinstance(x, Tensor) for x in k) else np.asarray([int(x) for x in k])
            if a.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            out.append(a)
            advanced = True
        elif isinstance(k, bool):
            out.append(k)
            advanced = True
        elif isinstance(k, numbers.Integral):
            out.append(int(k))
        elif k is None or k is Ellipsis or isinstance(k, slice):
            if isinstance(k, slice) and k.step is not None and k.step <= 0:
                raise ValueError("step must be greater than zero")
            out.append(k)
        else:
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                             "Variables are valid indices (got " + type(k).__name__ + ")")
    return tuple(out), advanced


def _numpy_index(arr, key):
    try:
        return arr[key]
    except IndexError as e:
        msg = str(e).replace("axis", "dimension")
        raise IndexError(msg) from None


class Index(Op):
    _name = "IndexBackward0"

    @staticmethod
    def forward(ctx, x, key, advanced):
        ctx.shape, ctx.key, ctx.advanced = x.shape, key, advanced
        return _numpy_index(x, key)

    @staticmethod
    def backward(ctx, grad):
        return apply(IndexPutZeros, (grad,), (grad._data,), ctx.shape, ctx.key, ctx.advanced)


class IndexPutZeros(Op):
    """Zeros of `shape` with `grad` added at `key` (the backward of indexing)."""
    _name = "IndexBackwardBackward0"

    @staticmethod
    def forward(ctx, g, shape, key, advanced):
        ctx.key, ctx.advanced = key, advanced
        out = np.zeros(shape, dtype=g.dtype)
        if advanced:
            np.add.at(out, key, g)
        else:
            out[key] = g
        return out

    @staticmethod
    def backward(ctx, grad):
        return apply(Index, (grad,), (grad._data,), ctx.key, ctx.advanced)


def getitem(self, key):
    from .shape import as_view
    if self._data.ndim == 0 and not isinstance(key, (type(None), type(Ellipsis), tuple, bool,
                                                      Tensor)):
        raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                         "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
    np_key, advanced = _convert_key(key)
    out = apply(Index, (self,), (self._data,), np_key, advanced)
    if out.grad_fn is not None and not advanced:
        only_int = all(isinstance(k, int) for k in np_key)
        out.grad_fn._name = "SelectBackward0" if only_int else "SliceBackward0"
    if not advanced:
        return as_view(out, self, lambda b: b[key])
    return out


class IndexPut(Op):
    _name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, x, v, key, advanced):
        ctx.key, ctx.advanced = key, advanced
        out = x.copy()
        out[key] = v
        return out

    @staticmethod
    def backward(ctx, grad):
        from .conversion import clone
        gx = gv = None
        if ctx.needs_input_grad[0]:
            gx = grad.clone()
            gx._data[ctx.key] = 0
        if ctx.needs_input_grad[1]:
            gv = apply(Index, (grad,), (grad._data,), ctx.key, ctx.advanced)
        return gx, gv


def setitem(self, key, value):
    """self[key] = value (broadcast), recorded for autograd like index_put_."""
    from .conversion import commit_inplace
    np_key, advanced = _convert_key(key)
    if isinstance(value, Tensor):
        if value.device != self.device:
            value = value.to(self.device)
        varr = cast(value, self.dtype)
        vin = value
    else:
        varr = np.asarray(value, dtype=self.dtype.np)
        vin = None
    try:
        target_shape = np.empty(self._data.shape, dtype=bool)[np_key].shape
        np.broadcast_to(varr, target_shape) if varr.size or not target_shape else None
    except IndexError as e:
        raise IndexError(str(e).replace("axis", "dimension")) from None
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(np.shape(varr))} cannot be "
                           f"broadcast to indexing result of shape {list(target_shape)}") from None
    result = apply(IndexPut, (self, vin), (self._data, varr), np_key, advanced)
    commit_inplace(self, result)


def nonzero(input, *, out=None, as_tuple=False):
    idx = np.nonzero(input._data)
    if as_tuple:
        if input._data.ndim == 0:
            return (Tensor._make(np.zeros(int(bool(input._data)), dtype=np.int64)),)
        return tuple(Tensor._make(i.astype(np.int64)) for i in idx)
    if input._data.ndim == 0:
        return Tensor._make(np.zeros((int(bool(input._data)), 0), dtype=np.int64))
    return Tensor._make(np.stack(idx, axis=1).astype(np.int64) if idx else
                        np.zeros((0, 0), dtype=np.int64))


Tensor.__getitem__ = getitem
Tensor.__setitem__ = setitem
Tensor.nonzero = nonzero
