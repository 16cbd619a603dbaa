"""What a PyTorch checkpoint's pickle names, as ember reads it: storage classes and rebuilds.

torch pickles a tensor as a call ``torch._utils._rebuild_tensor_v2(storage, offset, size,
stride, requires_grad, hooks)`` over a storage record (``torch.FloatStorage`` ...,
``torch.storage.UntypedStorage`` for dtypes without a typed class); a Parameter, a sparse
tensor, a Tensor subclass and ``torch.Size`` have rebuilds of their own. These are ember's
versions of those functions: each builds the ember object from arrays already read, checks
every argument (a checkpoint is data, not code), and calls nothing else. The restricted
unpickler (ember/_safe_unpickler.py) maps torch's names to them.
"""
import pickle

import ml_dtypes
import numpy as np

from . import _dtype, _quantized
from ._tensor import Tensor, Size
from ._storage_layout import _as_strided


_TORCH_STORAGES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": ml_dtypes.bfloat16, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_, "ComplexFloatStorage": np.complex64,
    "ComplexDoubleStorage": np.complex128,
}
_STORAGE_NAME = {np.dtype(v): k for k, v in _TORCH_STORAGES.items()}


# torch dtypes ember has no counterpart for: a checkpoint holding them is refused with
# NotImplementedError (it is not unsafe, only unsupported); the quantized ones that ember's
# quantized tensors use are read
_TORCH_ONLY_DTYPES = ({d.name for d in _dtype.STORAGELESS_DTYPES}
                      - set(_quantized.INT_TYPES_BY_NAME))


class _StorageType:
    """A ``torch.XStorage`` class named in a pickle: its element dtype. ``UntypedStorage``
    (what torch writes for dtypes without a typed storage class, e.g. uint16) holds bytes."""

    def __init__(self, name, dtype=None):
        self.name = name
        self.dtype = _TORCH_STORAGES[name] if dtype is None else dtype


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False,
                    backward_hooks=None, metadata=None):
    item = storage.itemsize
    size, stride = tuple(size), tuple(stride)
    if any(s < 0 for s in stride) or storage_offset < 0:
        raise pickle.UnpicklingError("invalid tensor view in checkpoint")
    extent = storage_offset + sum((n - 1) * s for n, s in zip(size, stride) if n > 0) + 1
    if all(n > 0 for n in size) and extent > storage.size:
        raise pickle.UnpicklingError(f"tensor view (size {list(size)}, stride {list(stride)}, "
                                     f"offset {storage_offset}) exceeds its storage of "
                                     f"{storage.size} elements")
    base = storage[storage_offset:] if storage.size else storage
    _dtype.note_narrow(base.dtype)   # complex32/float8: the dispatcher's policy for them
    strides = tuple(s * item for s in stride)
    if isinstance(base, np.ndarray):   # a memmap too
        t = Tensor._make(_as_strided(base, size, strides))
    else:   # a storage restored to a GPU (see _placed_rebuild)
        from ._backend import strided_view
        t = Tensor._make(strided_view(base, size, strides))
    t._requires_grad = bool(requires_grad) and t.dtype.is_floating_point
    return t


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       dtype, metadata=None):
    """A tensor of `dtype` over an untyped (byte) storage: the bytes are reinterpreted,
    not copied, so tensors sharing the storage still share memory."""
    if not isinstance(dtype, _dtype.dtype):
        raise pickle.UnpicklingError(f"_rebuild_tensor_v3: {dtype!r} is not a dtype")
    raw = storage.view(np.uint8)
    if raw.size % dtype.itemsize:
        raise pickle.UnpicklingError(f"a storage of {raw.size} bytes cannot hold {dtype.name} "
                                     f"elements of {dtype.itemsize} bytes")
    return _rebuild_tensor(raw.view(dtype.np), storage_offset, size, stride, requires_grad)


def _rebuild_meta_tensor_no_storage(dtype, size, stride, requires_grad):
    """torch._utils._rebuild_meta_tensor_no_storage: a meta tensor (no data) of `dtype`,
    `size` and `stride`, as torch pickles one. It stays on the meta device whatever the
    map_location, as torch.load keeps it."""
    from ._ops.creation import empty_strided
    if not isinstance(dtype, _dtype.dtype):
        raise pickle.UnpicklingError(f"_rebuild_meta_tensor_no_storage: {dtype!r} is not a dtype")
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride) or not all(isinstance(n, int) and n >= 0 for n in size) or \
            not all(isinstance(s, int) for s in stride):
        raise pickle.UnpicklingError(f"_rebuild_meta_tensor_no_storage: invalid size {list(size)} "
                                     f"or stride {list(stride)}")
    t = empty_strided(size, stride, dtype=dtype, device="meta")
    t._requires_grad = bool(requires_grad) and (dtype.is_floating_point or dtype.is_complex)
    return t


def _rebuild_parameter(data, requires_grad, backward_hooks=None, *state):
    from .nn.parameter import Parameter
    return Parameter(data, requires_grad=requires_grad)


def _rebuild_from_type_v2(func, new_type, args, state):
    """torch._tensor._rebuild_from_type_v2: a Tensor subclass instance. The weights-only
    reader names only torch.Tensor here (a placeholder: the plain tensor), or a class the
    user marked safe."""
    from ._ops.creation import _rebuild_as_subclass
    return _rebuild_as_subclass(func, args, new_type, state)


_SPARSE_LAYOUTS = ("sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc")


def _get_layout(name):
    """A layout named in a torch checkpoint ("torch.sparse_coo"), as its ember name."""
    short = name[6:] if isinstance(name, str) and name.startswith("torch.") else None
    if short not in _SPARSE_LAYOUTS:
        raise pickle.UnpicklingError(f"unsupported layout {name!r} in the checkpoint")
    return short


def _rebuild_size(*args):
    return Size(*args)


def _rebuild_device(*args):
    """torch.device as a checkpoint pickles it: torch.device('cpu'), torch.device('cuda', 1)
    (a string, then an optional integer index); anything else is refused."""
    from ._device import device
    if not 1 <= len(args) <= 2 or not isinstance(args[0], str) or (
            len(args) == 2 and args[1] is not None and
            (not isinstance(args[1], int) or isinstance(args[1], bool))):
        raise pickle.UnpicklingError(f"torch.device: invalid arguments {args!r}")
    try:
        return device(*args)
    except (RuntimeError, ValueError, TypeError) as e:
        raise pickle.UnpicklingError(f"torch.device: {e}") from None


def _rebuild_sparse_tensor(layout, data):
    """A sparse tensor of a torch checkpoint (torch._utils._rebuild_sparse_tensor): COO
    (indices, values, size[, is_coalesced]) or compressed (compressed indices, plain
    indices, values, size); the components are checked as any sparse constructor does."""
    from . import sparse
    import ember
    if not isinstance(layout, str) or not isinstance(data, tuple):
        raise pickle.UnpicklingError("_rebuild_sparse_tensor: invalid arguments")
    if layout == "sparse_coo" and len(data) in (3, 4):
        indices, values, size = data[:3]
        coalesced = bool(data[3]) if len(data) == 4 and data[3] is not None else False
        return sparse.sparse_coo_tensor(indices, values, size, is_coalesced=coalesced)
    if layout != "sparse_coo" and len(data) == 4:
        return sparse.sparse_compressed_tensor(*data, layout=getattr(ember, layout))
    raise pickle.UnpicklingError(f"_rebuild_sparse_tensor: invalid data for layout {layout}")
