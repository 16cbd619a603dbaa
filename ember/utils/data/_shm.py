"""Passing large arrays from worker processes through shared memory.

A worker writes each large array of a batch into a file under /dev/shm and sends only
its name, dtype and shape; the main process maps the file, unlinks it at once (the
mapping stays valid) and wraps the mapping as the tensor's array, so the data is never
pickled or copied. Names carry the main process id, so whatever a killed worker leaves
behind is removed when its iterator shuts down.
"""
import mmap
import os

import numpy as np

from ..._tensor import Tensor

SHM_DIR = "/dev/shm"
MIN_BYTES = 1 << 16
_counter = [0]


def available():
    return os.path.isdir(SHM_DIR) and os.access(SHM_DIR, os.W_OK)


def prefix(main_pid):
    return f"ember_dl_{main_pid}_"


class _ShmArray:
    __slots__ = ("name", "dtype", "shape", "requires_grad")

    def __init__(self, name, dtype, shape, requires_grad):
        self.name, self.dtype, self.shape, self.requires_grad = name, dtype, shape, requires_grad


def _write(arr, name):
    path = os.path.join(SHM_DIR, name)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        os.ftruncate(fd, max(arr.nbytes, 1))
        with mmap.mmap(fd, max(arr.nbytes, 1)) as m:
            np.frombuffer(m, dtype=arr.dtype, count=arr.size)[:] = arr.reshape(-1)
            del m
    finally:
        os.close(fd)


def to_shared(obj, main_pid, worker_id):
    """Replace large tensors inside `obj` (nested containers) by shared-memory handles."""
    if isinstance(obj, Tensor):
        arr = obj._data
        if type(arr) is np.ndarray and arr.nbytes >= MIN_BYTES and arr.dtype.kind != "O":
            _counter[0] += 1
            name = f"{prefix(main_pid)}{worker_id}_{os.getpid()}_{_counter[0]}"
            _write(np.ascontiguousarray(arr), name)
            return _ShmArray(name, arr.dtype.str if arr.dtype.kind != "V" else arr.dtype.name,
                             arr.shape, obj._requires_grad)
        return obj
    if isinstance(obj, dict):
        return type(obj)((k, to_shared(v, main_pid, worker_id)) for k, v in obj.items()) \
            if type(obj) is dict else {k: to_shared(v, main_pid, worker_id) for k, v in
                                       obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(to_shared(v, main_pid, worker_id) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_shared(v, main_pid, worker_id) for v in obj)
    return obj


def from_shared(obj):
    """Map shared-memory handles back to tensors (zero copy)."""
    if isinstance(obj, _ShmArray):
        path = os.path.join(SHM_DIR, obj.name)
        fd = os.open(path, os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            m = mmap.mmap(fd, size)
        finally:
            os.close(fd)
            os.unlink(path)
        dt = np.dtype(obj.dtype) if obj.dtype != "bfloat16" else __import__("ml_dtypes").bfloat16
        n = int(np.prod(obj.shape)) if obj.shape else 1
        arr = np.frombuffer(m, dtype=dt, count=n).reshape(obj.shape)
        t = Tensor._make(arr)
        t._requires_grad = obj.requires_grad
        return t
    if isinstance(obj, dict):
        return {k: from_shared(v) for k, v in obj.items()} if type(obj) is not dict else \
            {k: from_shared(v) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(from_shared(v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(from_shared(v) for v in obj)
    return obj


def cleanup(main_pid):
    """Remove every segment this process's workers created and nobody mapped."""
    if not os.path.isdir(SHM_DIR):
        return
    p = prefix(main_pid)
    for name in os.listdir(SHM_DIR):
        if name.startswith(p):
            try:
                os.unlink(os.path.join(SHM_DIR, name))
            except FileNotFoundError:
                pass
