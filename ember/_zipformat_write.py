"""Writing PyTorch's zip checkpoint format: ``save(obj, f, format="torch")``, and the
tensors inside whole objects saved with ``save(model, f)`` (ember/_object_pickle.py).

The result is what ``torch.save`` writes and real ``torch.load(weights_only=True)`` reads:
``archive/data.pkl`` pickles each tensor as torch's rebuild call (``_rebuild_tensor_v2``,
``_rebuild_parameter``, ``_rebuild_sparse_tensor``, ``_rebuild_qtensor``,
``_rebuild_from_type_v2``) over a storage record that names torch's storage class and the
tensor's device ("cpu", "cuda:0"); every storage is written once, as raw little-endian
bytes at a 64-byte boundary (ember/_zipwrite.py), so views saved together stay views.
torch's functions and classes are written by name; torch is never imported.
"""
import io
import os
import pickle
from collections import OrderedDict

import numpy as np

from . import _dtype, _quantized_serialization
from ._device import device as _device_cls
from ._tensor import Tensor, Size
from ._script_object import ScriptObject
from ._storage_layout import _root_array, _as_strided, _offset_elems, _le, saved_buffer
from ._torch_rebuild import _STORAGE_NAME
from ._serialization_options import get_crc32_options
from ._zipwrite import write_stored_zip


class _TorchGlobal:
    """A reference to a torch global, written into the pickle by name (torch is never
    imported)."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle requires reduce functions to be callable
        raise RuntimeError(f"{self.module}.{self.name} is only a name written into a pickle")


class _TorchPickler(pickle._Pickler):
    def __init__(self, fh, storages):
        super().__init__(fh, protocol=2)
        self.storages = storages

    def persistent_id(self, obj):
        if isinstance(obj, _StorageRef):
            return ("storage", obj.type_global, obj.key, obj.location, obj.numel)
        if getattr(obj, "_is_ember_storage", False):   # a storage saved for itself
            typed = obj.untyped() is not obj
            arr = obj._elements() if typed else obj._bytes
            if type(arr) is not np.ndarray:
                arr = obj.cpu()._elements() if typed else obj.cpu()._bytes
            root = _root_array(arr)   # the tensors' buffer, when the storage is all of it
            if root.dtype != arr.dtype or not root.flags.c_contiguous or root.size != arr.size:
                root = np.ascontiguousarray(arr)
            ref = self._ref(root, str(obj.device))
            return ("storage", ref.type_global, ref.key, ref.location, ref.numel)
        return None

    def _ref(self, root, location="cpu"):
        ref = self.storages.get(id(root))
        if ref is None:
            ref = self.storages[id(root)] = _StorageRef(str(len(self.storages)), root, location)
        return ref

    def _host_view(self, dev):
        """(a host array laid out as device array `dev`, the host copy of dev's whole
        buffer): the buffer (the end of dev's .base chain) is copied once per save, so
        tensors sharing device memory share one storage record, as torch writes them."""
        root = dev
        while root.base is not None:
            root = root.base
        copies = self.__dict__.setdefault("_host_copies", {})
        if id(root) not in copies:   # the device root is kept alive beside its copy
            from ._backend import cuda_backend
            copies[id(root)] = (root, cuda_backend().asnumpy(root))
        host = copies[id(root)][1]
        if not root.flags.c_contiguous or root.dtype != dev.dtype:
            from ._backend import cuda_backend
            host = cuda_backend().asnumpy(dev)
            return host, host
        offset = (dev.data.ptr - root.data.ptr) // dev.itemsize
        flat = host.reshape(-1)
        return _as_strided(flat[offset:] if flat.size else flat, dev.shape, dev.strides), host

    def save_global(self, obj, name=None):
        if isinstance(obj, _TorchGlobal):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
            self.memoize(obj)
            return
        qualname = name or getattr(obj, "__qualname__", None)
        if isinstance(qualname, str) and "<locals>" in qualname.split("."):
            # as the C pickler PyTorch's save uses (the pure-Python one: PicklingError)
            raise AttributeError(f"Can't pickle local object {qualname!r}")
        super().save_global(obj, name)

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, _Reduced):
            self.save_reduce(obj.fn, obj.args)
            return
        if isinstance(obj, _TorchGlobal):
            x = self.memo.get(id(obj))
            if x is not None:
                self.write(self.get(x[0]))
                return
            self.save_global(obj)
            return
        if isinstance(obj, Tensor):
            x = self.memo.get(id(obj))
            if x is not None:   # one tensor reached twice (a model's parameter and an
                self.write(self.get(x[0]))   # optimizer's key) loads as one object
                return
            if obj.layout.name != "strided":
                self._save_sparse(obj)
                return
            if obj.is_quantized:
                self._save_quantized(obj)
                return
            kind = type(obj)
            from .nn.parameter import Parameter
            if kind is not Tensor and not isinstance(obj, Parameter):
                if kind.__reduce_ex__ is not Tensor.__reduce_ex__:   # its own pickling
                    super().save(obj, save_persistent_id)
                    return
                self._save_subclass(obj)
                return
            self._save_tensor(obj)
            return
        if isinstance(obj, _dtype.dtype):   # torch.qint8 of a packed Linear's state ...
            self.save(_TorchGlobal("torch", obj.name))
            return
        if isinstance(obj, _device_cls):   # torch.device('cpu'), torch.device('cuda', 1)
            args = (obj.type,) if obj.index is None else (obj.type, obj.index)
            self.save_reduce(_TorchGlobal("torch", "device"), args, obj=obj)
            return
        if isinstance(obj, Size):
            self.save_reduce(_TorchGlobal("torch", "Size"), (tuple(obj),), obj=obj)
            return
        if isinstance(obj, ScriptObject):   # packed quantized parameters (_script_object.py)
            x = self.memo.get(id(obj))
            if x is not None:
                self.write(self.get(x[0]))
                return
            self.save(_TorchGlobal("torch", "ScriptObject"))
            self.write(pickle.EMPTY_TUPLE + pickle.NEWOBJ)
            self.memoize(obj)
            self.save(obj.__getstate__())
            self.write(pickle.BUILD)
            return
        super().save(obj, save_persistent_id)

    def _save_sparse(self, t):
        """A sparse tensor as torch pickles it: _rebuild_sparse_tensor(layout, components)."""
        layout = _Reduced(_TorchGlobal("torch.serialization", "_get_layout"),
                          (f"torch.{t.layout.name}",))
        size = _Reduced(_TorchGlobal("torch", "Size"), (tuple(t.shape),))

        def own(component):   # a copy of its own: components may be views of one buffer
            return Tensor._make(component._cpu_array().copy())
        if t.layout.name == "sparse_coo":
            data = (own(t._ix), own(t._vals), size, t.is_coalesced())
        else:
            data = (own(t._cidx), own(t._pidx), own(t._vals), size)
        self.save_reduce(_TorchGlobal("torch._utils", "_rebuild_sparse_tensor"), (layout, data),
                         obj=t)

    def _save_quantized(self, t):
        """A quantized tensor as torch pickles it: _rebuild_qtensor over a QUInt8Storage
        (QInt8Storage, QInt32Storage; QUInt4x2Storage of packed bytes) of its integers
        (ember/_quantized_serialization.py)."""
        ints = np.ascontiguousarray(t._data.ints).copy()
        ref = self._ref(_quantized_serialization.storage_array(t, ints))
        ref.type_global = _TorchGlobal("torch", _quantized_serialization.storage_name(t))
        args = _quantized_serialization.torch_args(t, ints, ref,
                                                   lambda name: _TorchGlobal("torch", name))
        self.save_reduce(_TorchGlobal("torch._utils", "_rebuild_qtensor"),
                         args + (OrderedDict(),), obj=t)

    def _save_subclass(self, t):
        """A Tensor subclass instance as torch pickles one: _rebuild_from_type_v2(the plain
        tensor's rebuild, the class, its arguments, the instance's attributes)."""
        from ._ops.creation import subclass_state
        func, args = self._rebuild_args(t)
        self.save_reduce(_TorchGlobal("torch._tensor", "_rebuild_from_type_v2"),
                         (func, type(t), args, subclass_state(t)), obj=t)

    def _rebuild_args(self, t):
        """(the rebuild function's global, its arguments) of a strided tensor's values; a
        meta tensor has no values: its dtype, size, stride and requires_grad rebuild it."""
        if t.is_meta:
            return (_TorchGlobal("torch._utils", "_rebuild_meta_tensor_no_storage"),
                    (_TorchGlobal("torch", t.dtype.name), tuple(t.shape), tuple(t.stride()),
                     bool(t._requires_grad)))
        if type(t._data) is np.ndarray or t.device.type != "cuda":
            arr, location = t._cpu_array(), "cpu"
            root = _root_array(arr)
        else:   # the host copy of the device buffer, once per buffer: views stay views
            arr, root = self._host_view(t._data)
            location = str(t.device)
        if root.dtype != arr.dtype or not root.flags.c_contiguous:
            # (a channels_last array owning its memory is saved over it with its strides;
            # a copy taken for the file made the offset the distance between two buffers)
            root, arr = saved_buffer(arr)
        ref = self._ref(root, location)
        item = arr.itemsize
        offset = _offset_elems(arr, root) if root is not arr else 0
        args = (ref, offset, tuple(arr.shape), tuple(s // item for s in arr.strides),
                bool(t._requires_grad), OrderedDict())
        if ref.untyped:   # bytes and a dtype, as torch writes dtypes without a storage class
            return (_TorchGlobal("torch._utils", "_rebuild_tensor_v3"),
                    args + (_TorchGlobal("torch", t.dtype.name),))
        return (_TorchGlobal("torch._utils", "_rebuild_tensor_v2"), args)

    def _save_tensor(self, t):
        from .nn.parameter import Parameter
        rebuild = self._rebuild_args(t)
        if isinstance(t, Parameter):
            self.save_reduce(_TorchGlobal("torch._utils", "_rebuild_parameter"),
                             (_Reduced(*rebuild), bool(t._requires_grad), OrderedDict()), obj=t)
        else:
            self.save_reduce(*rebuild, obj=t)


class _Reduced:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args


class _StorageRef:
    """A buffer written to the archive: a typed storage (torch.FloatStorage ...) where
    torch has a class for its dtype, else an UntypedStorage of its bytes (uint16, float8,
    complex32)."""

    def __init__(self, key, root, location="cpu"):
        self.key, self.root, self.location = key, root, location   # location: 'cpu', 'cuda:0'
        self.untyped = root.dtype not in _STORAGE_NAME
        if self.untyped:
            self.numel = int(root.nbytes)
            self.type_global = _TorchGlobal("torch.storage", "UntypedStorage")
        else:
            self.numel = int(root.size)
            self.type_global = _TorchGlobal("torch", _STORAGE_NAME[root.dtype])


def _save_torch(obj, fh, archive="archive", pickler=None):
    storages = {}
    buf = io.BytesIO()
    p = (pickler or _TorchPickler)(buf, storages)
    p.dump(obj)
    records = [(f"{archive}/data.pkl", buf.getvalue()),
               (f"{archive}/.format_version", b"1"),
               (f"{archive}/.storage_alignment", b"64"),
               (f"{archive}/byteorder", b"little")]
    records += [(f"{archive}/data/{ref.key}", _le(ref.root)) for ref in storages.values()]
    records += [(f"{archive}/version", b"3\n"),
                (f"{archive}/.data/serialization_id",
                 str(int.from_bytes(os.urandom(16), "little")).encode())]
    write_stored_zip(fh, records, crc32=get_crc32_options())
