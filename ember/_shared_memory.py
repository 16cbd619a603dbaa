"""Tensors in shared memory: ``Tensor.share_memory_()``, ``is_shared()``, and how such a
tensor travels to another process.

``share_memory_()`` moves a CPU tensor's values into a file in ``/dev/shm`` (the temporary
directory where there is none) mapped into the process, as PyTorch's ``file_system``
sharing strategy does. Sent to another process through ``multiprocessing`` (a Queue, the
arguments of a spawned Process, ``ember.multiprocessing.spawn``), the tensor is pickled
as the file's name and its place in it, and the receiving process maps the same file:
writes on either side are seen by the other (Hogwild training). A tensor that is not
shared is pickled with its values, as before. Forked children inherit the mapping.

The file is removed when the creating process no longer maps it (its tensor is freed, or
the process ends); processes that mapped it keep their memory until they free it.

Limits: a tensor's own memory moves, not its base's: views taken before
``share_memory_()`` keep the old memory. CUDA tensors are returned unchanged (PyTorch
shares them through CUDA IPC; ember does not send CUDA tensors between processes).
"""
import atexit
import itertools
import mmap
import os
import tempfile
import weakref

import numpy as np

_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
_PREFIX = "ember_shm"
_counter = itertools.count()
# file name -> (weak reference to its mmap, first address, size): the files this process
# maps; an entry goes with the last array on the mapping
_MAPPED = {}
# the files this process created (removed at exit at the latest)
_CREATED = set()
_REDUCERS = [False]


def _map(name, size, create):
    path = os.path.join(_DIR, name)
    flags = os.O_RDWR | (os.O_CREAT | os.O_EXCL if create else 0)
    fd = os.open(path, flags, 0o600)
    try:
        if create:
            os.ftruncate(fd, size)
        else:
            size = os.fstat(fd).st_size
        mm = mmap.mmap(fd, size)
    finally:
        os.close(fd)
    start = np.frombuffer(mm, np.uint8).ctypes.data if size else 0
    _MAPPED[name] = (weakref.ref(mm), start, size)
    weakref.finalize(mm, _forget, name, create)
    return mm


def _forget(name, created):
    _MAPPED.pop(name, None)
    if created:
        _CREATED.discard(name)
        try:
            os.unlink(os.path.join(_DIR, name))
        except FileNotFoundError:
            pass


@atexit.register
def _remove_created():
    for name in list(_CREATED):
        _forget(name, True)


def share_memory_(t):
    """Move `t`'s values into shared memory (in place); returns `t`."""
    arr = t._data
    if type(arr) is not np.ndarray or _segment_of(arr) is not None:
        return t
    size = max(arr.nbytes, 1)
    name = f"{_PREFIX}_{os.getpid()}_{next(_counter)}"
    _CREATED.add(name)
    # (the file goes when this process's last array on it is freed: see _map)
    mm = _map(name, size, create=True)
    shared = np.frombuffer(mm, arr.dtype, count=arr.size).reshape(arr.shape)
    shared[...] = arr
    t._data = shared
    _register_reducers()
    return t


def is_shared(t):
    arr = t._data
    return type(arr) is np.ndarray and _segment_of(arr) is not None


def _segment_of(arr):
    """(file name, byte offset of arr's first element) when arr lies in a shared file."""
    if arr.size == 0 and not _MAPPED:
        return None
    address = arr.__array_interface__["data"][0]
    for name, (_, start, size) in _MAPPED.items():
        if start <= address < start + size:
            return name, address - start
    return None


# ------------------------------------------------------------------------ pickling

def _register_reducers():
    """Let multiprocessing's pickler send shared tensors by reference (once per process)."""
    if _REDUCERS[0]:
        return
    from multiprocessing.reduction import ForkingPickler
    from ._tensor import Tensor
    from .nn.parameter import Parameter
    ForkingPickler.register(Tensor, _reduce)
    ForkingPickler.register(Parameter, _reduce)
    _REDUCERS[0] = True


def _reduce(t):
    seg = _segment_of(t._data) if type(t._data) is np.ndarray else None
    if seg is None:
        return t.__reduce_ex__(2)
    arr = t._data
    name, offset = seg
    from .nn.parameter import Parameter
    return (_rebuild, (isinstance(t, Parameter), name, offset, arr.shape, arr.strides,
                       arr.dtype.str, t._requires_grad))


def _rebuild(parameter, name, offset, shape, strides, dtype, requires_grad):
    """A tensor on the shared file `name` (mapped on first use in this process)."""
    _register_reducers()
    entry = _MAPPED.get(name)
    mm = entry[0]() if entry is not None else None
    if mm is None:
        mm = _map(name, 0, create=False)
    arr = np.ndarray(shape, np.dtype(dtype), buffer=mm, offset=offset, strides=strides)
    from ._tensor import Tensor
    if parameter:
        from .nn.parameter import Parameter
        return Parameter(Tensor._make(arr), requires_grad)
    t = Tensor._make(arr)
    t._requires_grad = requires_grad
    return t
