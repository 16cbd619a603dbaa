"""Quantized tensors in checkpoints: ember's own format, and PyTorch's.

PyTorch pickles a quantized tensor as

    torch._utils._rebuild_qtensor(storage, storage_offset, size, stride, quantizer_params,
                                  requires_grad, backward_hooks)

over a ``torch.QUInt8Storage`` / ``QInt8Storage`` / ``QInt32Storage`` of its integers (a
``QUInt4x2Storage`` of their bytes for quint4x2, two integers a byte), with
``quantizer_params`` = ``(torch.per_tensor_affine, scale, zero_point)`` or
``(torch.per_channel_affine, scales tensor, zero_points tensor, axis)`` (also
per_channel_affine_float_qparams). ember's weights-only reader (ember/_safe_unpickler.py)
admits exactly these names (nothing is called but `rebuild_qtensor`, which checks every
argument), and its torch-format writer (ember/_zipformat_write.py) writes them back
(`torch_args`). ember's own format stores a record of the integers (a plain tensor
record) and the parameters (`encode` / `decode`).
"""
import pickle

import numpy as np

from . import _dtype
from ._tensor import Tensor
from . import _quantized as Q
from ._torch_rebuild import _rebuild_tensor

# torch's storage class of each quantized dtype: its name, and the NumPy type of its elements
# (QUInt4x2Storage's bytes hold two 4-bit integers each: a one-field record type of one
# byte marks them, so that rebuild_qtensor unpacks them)
PACKED_4BIT = np.dtype([("quint4x2", np.uint8)])
STORAGES = {"QUInt8Storage": np.uint8, "QInt8Storage": np.int8, "QInt32Storage": np.int32,
            "QUInt4x2Storage": PACKED_4BIT}
_STORAGE_OF = {_dtype.quint8: "QUInt8Storage", _dtype.qint8: "QInt8Storage",
               _dtype.qint32: "QInt32Storage", _dtype.quint4x2: "QUInt4x2Storage"}


def _params(q):
    """(scheme, scale or scales, zero point or zero points, axis or None) of q."""
    if q._qscheme is Q.per_tensor_affine:
        return q._qscheme, q._scale, q._zero_point, None
    return q._qscheme, q._scales, q._zero_points, q._axis


def _checked(ints, scheme, scale, zero_point, axis, where, four_bit=False):
    """The quantized tensor over `ints`, every parameter checked (a checkpoint is data);
    four_bit: quint4x2 (uint8 integers 0..15, one an element)."""
    qdtype = Q._QDTYPE_OF_REPR.get(ints.dtype)
    if four_bit:
        if ints.dtype != np.uint8 or (ints.size and int(ints.max()) > 15):
            raise pickle.UnpicklingError(f"{where}: quint4x2 integers must be uint8 in [0, 15]")
        qdtype = _dtype.quint4x2
    if qdtype is None:
        raise pickle.UnpicklingError(f"{where}: a quantized tensor cannot hold {ints.dtype} "
                                     f"integers")
    if scheme is Q.per_tensor_affine or scheme is Q.per_tensor_symmetric:
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or \
                not isinstance(zero_point, int) or isinstance(zero_point, bool):
            raise pickle.UnpicklingError(f"{where}: invalid per-tensor parameters")
        return Q._make(ints, qdtype, Q.per_tensor_affine, float(scale), int(zero_point))
    if scheme not in (Q.per_channel_affine, Q.per_channel_symmetric,
                      Q.per_channel_affine_float_qparams):
        raise pickle.UnpicklingError(f"{where}: unsupported quantization scheme {scheme!r}")
    if not (isinstance(scale, Tensor) and isinstance(zero_point, Tensor)
            and isinstance(axis, int) and not isinstance(axis, bool)):
        raise pickle.UnpicklingError(f"{where}: invalid per-channel parameters")
    if not 0 <= axis < ints.ndim or scale.dim() != 1 or \
            scale.shape != zero_point.shape or ints.shape[axis] != scale.shape[0]:
        raise pickle.UnpicklingError(f"{where}: per-channel parameters of shape "
                                     f"{tuple(scale.shape)} do not fit a tensor of shape "
                                     f"{ints.shape} along axis {axis}")
    scales = scale.detach().double()._cpu_array().copy()
    if scheme is Q.per_channel_affine and zero_point.is_floating_point():
        # torch.save writes float-qparams tensors (quantized embedding tables) as
        # per_channel_affine with float zero points, and torch.load reads them back so
        scheme = Q.per_channel_affine_float_qparams
    if scheme is Q.per_channel_affine_float_qparams:   # (float32 scales, as PyTorch's)
        zps = zero_point.detach().float()._cpu_array().copy()
        return Q._make(ints, qdtype, Q.per_channel_affine_float_qparams,
                       scales.astype(np.float32), zps, axis)
    zps = zero_point.detach().long()._cpu_array().copy()
    return Q._make(ints, qdtype, Q.per_channel_affine, scales, zps, axis)


# ============================================================================ PyTorch's

def rebuild_qtensor(storage, storage_offset, size, stride, quantizer_params,
                    requires_grad=False, backward_hooks=None):
    """torch._utils._rebuild_qtensor, reading: the integers viewed from `storage` (a NumPy
    array of the storage's elements), the parameters checked."""
    if not isinstance(quantizer_params, tuple) or not quantizer_params:
        raise pickle.UnpicklingError("_rebuild_qtensor: invalid quantizer parameters")
    four_bit = getattr(storage, "dtype", None) == PACKED_4BIT
    if four_bit:   # torch.quint4x2: the elements are the bytes' nibbles
        storage = Q.unpack_4bit(storage.view(np.uint8))
    ints = _rebuild_tensor(storage, storage_offset, size, stride)._data
    if four_bit:
        ints = ints.copy()
    scheme = quantizer_params[0]
    if scheme is Q.per_tensor_affine and len(quantizer_params) == 3:
        return _checked(ints, scheme, quantizer_params[1], quantizer_params[2], None,
                        "_rebuild_qtensor", four_bit)
    if len(quantizer_params) != 4:
        raise pickle.UnpicklingError(f"_rebuild_qtensor: unsupported quantizer parameters "
                                     f"for {scheme!r}")
    return _checked(ints, scheme, *quantizer_params[1:], "_rebuild_qtensor", four_bit)


def storage_name(q):
    """torch's storage class name for q's integers (QUInt8Storage ... QUInt4x2Storage)."""
    if q._qdtype not in _STORAGE_OF:
        raise NotImplementedError(f"writing {q._qdtype} tensors in PyTorch's format is not "
                                  f"built in ember; save them in ember's format")
    return _STORAGE_OF[q._qdtype]


def storage_array(q, ints):
    """The flat elements of q's storage as torch writes them: its integers (row-major
    `ints`), or for quint4x2 their bytes, two integers a byte (first in the low nibble)."""
    if q._qdtype is _dtype.quint4x2:
        return Q.pack_4bit(ints)
    return ints.reshape(-1)


def torch_args(q, ints, ref, torch_global):
    """The arguments of torch._utils._rebuild_qtensor for q, whose integers `ints` (laid
    out from the start of their storage) are written as storage `ref`; `torch_global(name)`
    is what the writer pickles as the global ``torch.<name>`` (the scheme)."""
    scheme, scale, zp, axis = _params(q)
    if axis is None:
        params = (torch_global(scheme.name), float(scale), int(zp))
    else:
        params = (torch_global(scheme.name),
                  Tensor._make(np.ascontiguousarray(scale, dtype=np.float64)),
                  Tensor._make(np.ascontiguousarray(zp)), int(axis))
    return (ref, 0, tuple(ints.shape), tuple(s // ints.itemsize for s in ints.strides),
            params, False)


# ============================================================================ ember's

def encode(enc, q):
    """ember's format: the integers as a plain tensor record, and the parameters."""
    scheme, scale, zp, axis = _params(q)
    rec = {"__quantized__": scheme.name, "ints": enc.enc(Tensor._make(q._data.ints))}
    if q._qdtype is _dtype.quint4x2:   # (the integers' uint8 alone would read as quint8)
        rec["dtype"] = "quint4x2"
    if axis is None:
        rec.update(scale=enc.enc(float(scale)), zero_point=int(zp))
    else:
        rec.update(scales=enc.enc(Tensor._make(np.asarray(scale))),
                   zero_points=enc.enc(Tensor._make(np.asarray(zp))), axis=int(axis))
    return rec


def decode(dec, x):
    """A quantized tensor from its record in ember's format."""
    scheme = Q.QSCHEMES.get(x["__quantized__"])
    ints = dec.dec(x["ints"])
    if scheme is None or not isinstance(ints, Tensor) or type(ints._data) is not np.ndarray:
        raise ValueError(f"invalid quantized tensor record ({x['__quantized__']!r})")
    four_bit = x.get("dtype") == "quint4x2"
    try:
        if scheme is Q.per_tensor_affine:
            return _checked(ints._data, scheme, dec.dec(x["scale"]), x["zero_point"], None,
                            "ember.load", four_bit)
        return _checked(ints._data, scheme, dec.dec(x["scales"]), dec.dec(x["zero_points"]),
                        x["axis"], "ember.load", four_bit)
    except pickle.UnpicklingError as e:
        raise ValueError(str(e)) from None
