"""The settings and small utilities of ``torch.serialization`` (re-exported by
ember/serialization.py): the fallback byte order of files without a byteorder record, the
mmap flags of ``load(mmap=True)``, whether ``save`` writes CRC-32s, storage location tags,
and a check that lists the globals a checkpoint would need marked safe.
"""
import contextlib
import enum
import io
import mmap as _mmap
import shutil
import tempfile
import zipfile

MAP_PRIVATE = getattr(_mmap, "MAP_PRIVATE", 2)
MAP_SHARED = getattr(_mmap, "MAP_SHARED", 1)

# what torch keeps in torch.utils.serialization.config
_LOAD = {"endianness": None, "mmap_flags": MAP_PRIVATE}
_SAVE = {"compute_crc32": True}


class SourceChangeWarning(Warning):
    """Warned by PyTorch when a pickled module's source changed since it was saved (ember
    pickles modules by reference to their class, so it never warns it)."""


class LoadEndianness(enum.Enum):
    """The byte order to read a checkpoint with when it has no byteorder record."""
    NATIVE = 1
    LITTLE = 2
    BIG = 3


def get_default_load_endianness():
    """The fallback byte order for files without a byteorder record (None: native)."""
    return _LOAD["endianness"]


def set_default_load_endianness(endianness):
    """Set the fallback byte order for files without a byteorder record: a LoadEndianness,
    or None (native, which is little-endian on every machine ember runs on)."""
    if not isinstance(endianness, LoadEndianness) and endianness is not None:
        raise TypeError("Invalid argument type in function set_default_load_endianness")
    _LOAD["endianness"] = endianness


def fallback_byteorder():
    """The NumPy byte-order character for a file without a byteorder record."""
    return ">" if _LOAD["endianness"] is LoadEndianness.BIG else "<"


def get_crc32_options():
    """Whether ``save`` computes and writes the CRC-32 of each record (default True)."""
    return _SAVE["compute_crc32"]


def set_crc32_options(compute_crc32):
    """Set whether ``save`` computes each record's CRC-32. Without them (zeros in their
    place) unzip tools report corrupted records; torch.load and ember.load read the file."""
    _SAVE["compute_crc32"] = bool(compute_crc32)


def get_default_mmap_options():
    """The flags of ``load(mmap=True)``'s maps: mmap.MAP_PRIVATE (copy-on-write, the
    default) or mmap.MAP_SHARED (writes to the tensors reach the file)."""
    return _LOAD["mmap_flags"]


class set_default_mmap_options:
    """Set the flags of ``load(mmap=True)``'s maps to mmap.MAP_PRIVATE or mmap.MAP_SHARED;
    as a context manager, only inside the block."""

    def __init__(self, flags):
        if flags != MAP_PRIVATE and flags != MAP_SHARED:
            raise ValueError(f"Invalid argument in function set_default_mmap_options, "
                             f"expected mmap.MAP_PRIVATE or mmap.MAP_SHARED, but got {flags}")
        self.prev = _LOAD["mmap_flags"]
        _LOAD["mmap_flags"] = flags

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _LOAD["mmap_flags"] = self.prev


def mmap_mode():
    """numpy.memmap's mode for the current mmap flags."""
    return "r+" if _LOAD["mmap_flags"] == MAP_SHARED else "c"


class skip_data:
    """PyTorch's context manager that saves or loads a checkpoint's structure without its
    storage bytes. Not built in ember."""

    def __init__(self, materialize_fake_tensors=False):
        raise NotImplementedError("ember.serialization.skip_data is not implemented: ember "
                                  "always writes and reads the storages' bytes")


def register_package(priority, tagger, deserializer):
    """PyTorch's registry of storage location taggers and deserializers for other devices.
    ember knows only the CPU and CUDA, and has no registry."""
    raise NotImplementedError("ember.serialization.register_package is not implemented: "
                              "ember restores storages to the CPU and CUDA only")


@contextlib.contextmanager
def mkdtemp():
    """A temporary directory, removed with its contents when the block ends."""
    path = tempfile.mkdtemp()
    try:
        yield path
    finally:
        shutil.rmtree(path)


def check_module_version_greater_or_equal(module, req_version_tuple, error_if_malformed=True):
    """Whether ``module.__version__`` (dotted numbers) is at least `req_version_tuple`,
    compared part by part; a malformed version raises RuntimeError, or warns and answers
    False with ``error_if_malformed=False``."""
    parts = module.__version__.split(".")
    try:
        version = tuple(type(want)(part) for want, part in zip(req_version_tuple, parts))
        return version >= tuple(req_version_tuple)
    except Exception as e:
        message = (f"'{module.__name__}' module version string is malformed "
                   f"'{module.__version__}' and cannot be compared with tuple "
                   f"{req_version_tuple}")
        if error_if_malformed:
            raise RuntimeError(message) from e
        import warnings
        warnings.warn(message + ", but continuing assuming that requirement is met")
        return True


def location_tag(storage):
    """The location a storage is saved with: 'cpu' or 'cuda:<index>'."""
    device = storage.device
    if device.type == "cpu":
        return "cpu"
    if device.type == "cuda":
        return f"cuda:{device.index or 0}"
    raise RuntimeError(f"don't know how to determine data location of "
                       f"{type(storage).__module__}.{type(storage).__qualname__}")


def validate_cuda_device(location):
    """The index of CUDA device `location` ('cuda', 'cuda:1', a device), with torch's
    errors when CUDA is missing or has fewer devices."""
    from ._device import device as _device_cls
    from ._map_location import _restore_check
    target = _device_cls(location)
    _restore_check(target, location)
    return target.index or 0


def default_restore_location(storage, location):
    """`storage` moved to `location` ('cpu', 'cuda', 'cuda:<index>'), as torch.load restores
    a storage its record tags with that location."""
    if location == "cpu":
        return storage.cpu()
    if location == "cuda" or location.startswith("cuda:"):
        return storage.cuda(validate_cuda_device(location))
    raise RuntimeError(f"don't know how to restore data location of "
                       f"{type(storage).__module__}.{type(storage).__qualname__} (tagged with "
                       f"{location})")


def normalize_storage_type(storage_type):
    """The ember storage class named as `storage_type` (ember.FloatStorage ...)."""
    import ember
    return getattr(ember, storage_type.__name__)


def storage_to_tensor_type(storage):
    """The legacy tensor type of a legacy storage's class: FloatStorage -> FloatTensor,
    cuda.FloatStorage -> cuda.FloatTensor."""
    import importlib
    cls = type(storage)
    module = importlib.import_module(cls.__module__)
    return getattr(module, cls.__name__.replace("Storage", "Tensor"))


def get_unsafe_globals_in_checkpoint(f):
    """The globals ('module.name') the pickle of torch-format checkpoint `f` names that
    ``load(weights_only=True)`` would refuse: neither allowed by default nor marked with
    add_safe_globals. The pickle is disassembled, never run."""
    import pickletools
    from ._safe_unpickler import _RefusedGlobal, _TorchUnpickler
    from ._zipformat_read import read_bytes
    raw = _read_file(f)
    if not zipfile.is_zipfile(io.BytesIO(raw)):
        raise ValueError("Expected input to be a checkpoint returned by torch.save")
    z = zipfile.ZipFile(io.BytesIO(raw))
    names = z.namelist()
    if any(n.endswith("/constants.pkl") for n in names):
        raise ValueError("Expected input to be a checkpoint returned by torch.save but got a "
                         "torchscript checkpoint")
    pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if not pkl:
        raise ValueError("Expected input to be a checkpoint returned by torch.save")
    found, strings = set(), []
    for op, arg, _ in pickletools.genops(read_bytes(z, pkl[0])):
        if op.name == "GLOBAL":
            found.add(tuple(arg.split(" ", 1)))
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            found.add((strings[-2], strings[-1]))
        elif isinstance(arg, str):
            strings.append(arg)
    probe = _TorchUnpickler(io.BytesIO(b""), None, None)
    unsafe = []
    for module, name in found:
        try:
            probe.find_class(module, name)
        except _RefusedGlobal:
            unsafe.append(f"{module}.{name}")
    return unsafe


def _read_file(f):
    if isinstance(f, (str, bytes)) or hasattr(f, "__fspath__"):
        with open(f, "rb") as fh:
            return fh.read()
    return f.read()
