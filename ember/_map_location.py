"""Where loaded tensors go: the device a checkpoint's record names, as map_location maps it.

``load(f, map_location=...)`` takes None (each tensor back on the device its record names),
a device or a device string (all tensors there), a dict {saved location: new location}, or
a callable ``(storage, saved location) -> storage or None`` (called once per storage, given
its bytes on the CPU; None restores it to the saved location). Storages are read on the
host; one that goes to a GPU is copied there once per device, so tensors sharing a storage
when saved share it there too. A record naming a CUDA device on a machine without one
raises torch's RuntimeError, which tells the user to pass map_location.

The checkpoint readers (torch's zip and legacy formats, ember's own) place storages with
_place; _apply_map_location moves a single tensor that has no storage record (safetensors,
a TorchScript archive's constants), where a callable is given the CPU tensor instead.
"""
from collections import OrderedDict

import numpy as np

from . import _dtype
from ._device import device as _device_cls
from ._tensor import Tensor, Size


def _target_device(map_location, location):
    """The device a tensor saved on `location` loads to; None when a callable decides."""
    if map_location is None:
        return _device_cls(location)
    if callable(map_location) and not isinstance(map_location, (str, _device_cls)):
        return None
    if isinstance(map_location, dict):
        return _device_cls(map_location.get(location, location))
    return _device_cls(map_location)


def _apply_map_location(t, map_location, location="cpu"):
    """Tensor `t`, loaded on the CPU from `location`, moved as map_location says."""
    if map_location is None:
        return t if location == "cpu" else t.to(location)
    if callable(map_location) and not isinstance(map_location, (str, _device_cls)):
        r = map_location(t, location)
        return r if isinstance(r, Tensor) else t
    if isinstance(map_location, dict):
        target = map_location.get(location, location)
        return t if target == "cpu" else t.to(target)
    dev = _device_cls(map_location) if not isinstance(map_location, _device_cls) else map_location
    return t if dev.type == "cpu" else t.to(dev)


def _init_placement(unpickler):
    unpickler.locations = {}   # id(storage array) -> the location its record names
    unpickler.on_device = {}   # (id(storage array), device) -> its copy there


def _placed_rebuild(unpickler, rebuild):
    """`rebuild` (a tensor over a storage) placing its tensor where torch.load would: over
    its storage placed by _placed_storage."""
    def placed(storage, *args):
        return rebuild(_placed_storage(unpickler, storage), *args)
    placed.__name__ = "_rebuild_placed"   # a rebuild the object reader lets a pickle call
    return placed


def _placed_storage(unpickler, storage):
    """Host array `storage`, read by `unpickler`, where torch.load puts it (_place)."""
    location = unpickler.locations.get(id(storage), "cpu")
    return _place(unpickler.on_device, unpickler.map_location, storage, location)


def _place(moved, map_location, storage, location):
    """Host array `storage` (a storage read from a checkpoint) where torch.load puts it: on
    its saved `location` mapped by map_location. Each storage is moved once per device (and
    a callable map_location called once per storage), remembered in the dict `moved`, so
    tensors that shared a storage when saved share it there too."""
    target = _target_device(map_location, location)
    if target is not None and target.type == "cpu":
        return storage
    key = (id(storage), "map_location" if target is None else str(target))
    if key not in moved:
        moved[key] = (_called_map_location(map_location, storage, location) if target is None
                      else _restore_to(storage, target, location))
    return moved[key]


def _called_map_location(fn, storage, location):
    """The elements of host array `storage` where callable map_location `fn` puts them.
    As torch.load, `fn` is given the storage (an UntypedStorage of its bytes, on the CPU)
    and its saved location, and returns a storage; None restores it to the saved
    location."""
    from .storage import UntypedStorage
    untyped = UntypedStorage._wrap(storage.reshape(-1).view(np.uint8), resizable=False)
    moved = fn(untyped, location)
    if moved is None:
        from ._serialization_options import default_restore_location
        moved = default_restore_location(untyped, location)
    if not getattr(moved, "_is_ember_storage", False):
        raise TypeError(f"map_location returned a {type(moved).__name__}: a callable "
                        f"map_location takes a storage and its location and returns a storage "
                        f"(or None)")
    data = moved.untyped()._bytes
    if data.size != storage.nbytes:
        raise RuntimeError(f"map_location returned a storage of {data.size} bytes for one of "
                           f"{storage.nbytes} bytes")
    return data.view(storage.dtype)


def _storage_objects(obj, unpickler):
    """The loaded tree with each bare storage (an array: a checkpoint admits no other
    arrays) made a TypedStorage of its elements where _placed_storage puts it, as
    torch.load returns it; views stay views."""
    if isinstance(obj, np.ndarray):
        from .storage import TypedStorage, UntypedStorage
        arr = _placed_storage(unpickler, obj)
        untyped = UntypedStorage._wrap(arr.reshape(-1).view(np.uint8), resizable=False)
        return TypedStorage._new_wrapped_storage(untyped, _dtype.from_numpy_dtype(obj.dtype))
    if isinstance(obj, (dict, list, tuple)) and not isinstance(obj, Size):
        def walk(v):
            return _storage_objects(v, unpickler)
        if isinstance(obj, OrderedDict):
            out = OrderedDict((k, walk(v)) for k, v in obj.items())
            if hasattr(obj, "_metadata"):
                out._metadata = obj._metadata
            return out
        if isinstance(obj, dict):
            return {k: walk(v) for k, v in obj.items()}
        return type(obj)(walk(v) for v in obj) if type(obj) in (list, tuple) else obj
    return obj


def _restore_to(storage, target, location):
    """Host array `storage` copied to CUDA device `target`, with torch's errors when the
    device is missing (a file saved on a GPU, loaded on a machine without one)."""
    _restore_check(target, location)
    from ._backend import cuda_backend
    return cuda_backend().from_numpy(storage, target.index or 0)


def _restore_check(target, location):
    """Raise torch's RuntimeError when storages saved on `location` cannot be restored to
    device `target` on this machine."""
    if target.type != "cuda":
        raise RuntimeError(f"don't know how to restore data location of {location} "
                           f"(mapped to {target})")
    from . import cuda
    if not cuda.is_available():
        raise RuntimeError("Attempting to deserialize object on a CUDA device but "
                           "torch.cuda.is_available() is False. If you are running on a "
                           "CPU-only machine, please use torch.load with "
                           "map_location=torch.device('cpu') to map your storages to the CPU.")
    index = target.index or 0
    if index >= cuda.device_count():
        raise RuntimeError(f"Attempting to deserialize object on CUDA device {index} but "
                           f"torch.cuda.device_count() is {cuda.device_count()}. Please use "
                           f"torch.load with map_location to map your storages to an existing "
                           f"device.")
