"""The legacy typed storage classes (``ember.FloatStorage``, ``ember.cuda.LongStorage``
...) and the storages' dtype conversions (``storage.float()``, ``.long()`` ...)."""
from .. import _dtype
from .._tensor import Tensor
from ._typed import TypedStorage, _warn_typed_storage_removal
from ._untyped import UntypedStorage


class _LegacyStorageMeta(type):
    """``isinstance(s, ember.FloatStorage)`` checks a TypedStorage's dtype and device."""

    def __instancecheck__(cls, obj):
        if type(obj) is not TypedStorage:
            return False
        return obj.dtype is cls.dtype and (obj.device.type == "cuda") == cls._cuda


class _LegacyStorage(TypedStorage):
    _cuda = False

    def __new__(cls, *args, wrap_storage=None, device=None):
        _warn_typed_storage_removal(stacklevel=2)
        if cls._cuda and device is None:
            device = "cuda"
        if wrap_storage is not None:
            if args:
                raise RuntimeError("No positional arguments should be given when using "
                                   "`wrap_storage`")
            if wrap_storage.device.type != ("cuda" if cls._cuda else "cpu"):
                raise RuntimeError(f"Device of 'wrap_storage' must be "
                                   f"{'cuda' if cls._cuda else 'cpu'}, but got "
                                   f"{wrap_storage.device.type}")
            return TypedStorage(wrap_storage=wrap_storage, dtype=cls.dtype, _internal=True)
        if len(args) == 1 and isinstance(args[0], Tensor):
            raise TypeError(f"{cls.__name__}.__new__ received an invalid combination of "
                            f"arguments - got (Tensor); expected no arguments, (int size), "
                            f"(Sequence data) or (*, UntypedStorage wrap_storage)")
        if len(args) > 1:
            raise TypeError(f"{cls.__name__}.__new__ takes at most one positional argument")
        return TypedStorage(*args, dtype=cls.dtype, device=device, _internal=True)


_LEGACY_NAMES = {
    "FloatStorage": _dtype.float32, "DoubleStorage": _dtype.float64,
    "HalfStorage": _dtype.float16, "BFloat16Storage": _dtype.bfloat16,
    "LongStorage": _dtype.int64, "IntStorage": _dtype.int32, "ShortStorage": _dtype.int16,
    "CharStorage": _dtype.int8, "ByteStorage": _dtype.uint8, "BoolStorage": _dtype.bool,
    "ComplexFloatStorage": _dtype.complex64, "ComplexDoubleStorage": _dtype.complex128,
}


def _make_legacy_storage(name, dt, cuda, module):
    return _LegacyStorageMeta(name, (_LegacyStorage,),
                              {"dtype": dt, "_cuda": cuda, "__module__": module})


LEGACY_STORAGES = {name: _make_legacy_storage(name, dt, False, "ember")
                   for name, dt in _LEGACY_NAMES.items()}
CUDA_LEGACY_STORAGES = {name: _make_legacy_storage(name, dt, True, "ember.cuda")
                        for name, dt in _LEGACY_NAMES.items()}
_LEGACY_BY_DTYPE = {cls.dtype: cls for cls in LEGACY_STORAGES.values()}


def _legacy_class_of(dtype):
    """The legacy storage class a ``type(...)`` argument names (a class or a string)."""
    if isinstance(dtype, str):
        name = dtype.rsplit(".", 1)[-1]
        table = CUDA_LEGACY_STORAGES if ".cuda." in dtype else LEGACY_STORAGES
        if name not in table:
            raise ValueError(f"invalid type: '{dtype}'")
        return table[name]
    if isinstance(dtype, type) and issubclass(dtype, _LegacyStorage):
        return dtype
    raise TypeError(f"invalid storage type {dtype!r}")


def _typed_conversion(dt):
    def method(self):
        return self._to(dt)
    return method


# storage.float(), .double(), .bool() ... convert the elements (an UntypedStorage's bytes
# are uint8 values)
for _method_name, _dt in (("float", _dtype.float32), ("double", _dtype.float64),
                          ("half", _dtype.float16), ("bfloat16", _dtype.bfloat16),
                          ("long", _dtype.int64), ("int", _dtype.int32),
                          ("short", _dtype.int16), ("char", _dtype.int8),
                          ("byte", _dtype.uint8), ("bool", _dtype.bool),
                          ("complex_float", _dtype.complex64),
                          ("complex_double", _dtype.complex128),
                          ("float8_e4m3fn", _dtype.float8_e4m3fn),
                          ("float8_e5m2", _dtype.float8_e5m2),
                          ("float8_e4m3fnuz", _dtype.float8_e4m3fnuz),
                          ("float8_e5m2fnuz", _dtype.float8_e5m2fnuz)):
    setattr(UntypedStorage, _method_name, _typed_conversion(_dt))
    setattr(TypedStorage, _method_name, _typed_conversion(_dt))
del _method_name, _dt
