"""dtype objects, the default dtype, and PyTorch's type-promotion rules.

NumPy 2 (NEP 50) promotes differently from PyTorch (a float32 tensor plus a
float64 0-dim tensor stays float32 in PyTorch, an int tensor divided by 2 is
float32, ...), so ember computes every result dtype itself and casts operands
before calling the array library.
"""
import builtins

import ml_dtypes
import numpy as np

__all__ = [
    "dtype", "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
    "float32", "float64", "complex64", "complex128", "half", "float", "double", "short",
    "int", "long", "cfloat", "cdouble", "uint16", "uint32", "uint64",
    "get_default_dtype", "set_default_dtype", "promote_types", "result_type", "can_cast",
    "finfo", "iinfo",
]

# category ranks: bool < integer < floating < complex
_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3


class dtype:
    """An ember dtype: a name, the NumPy dtype that stores it, and its category."""
    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_complex", "is_signed",
                 "_category", "_legacy")

    def __init__(self, name, np_dtype, category, legacy):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == _FLOAT
        self.is_complex = category == _COMPLEX
        self.is_signed = name not in ("bool", "uint8", "uint16", "uint32", "uint64")
        self._category = category
        self._legacy = legacy

    def __repr__(self):
        return "ember." + self.name

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))

    def to_real(self):
        return {"complex64": float32, "complex128": float64}.get(self.name, self)

    def to_complex(self):
        return {"float64": complex128, "complex128": complex128}.get(self.name, complex64)

    @property
    def is_signed_(self):
        return self.is_signed


bool = dtype("bool", np.bool_, _BOOL, "BoolTensor")
uint8 = dtype("uint8", np.uint8, _INT, "ByteTensor")
uint16 = dtype("uint16", np.uint16, _INT, None)
uint32 = dtype("uint32", np.uint32, _INT, None)
uint64 = dtype("uint64", np.uint64, _INT, None)
int8 = dtype("int8", np.int8, _INT, "CharTensor")
int16 = dtype("int16", np.int16, _INT, "ShortTensor")
int32 = dtype("int32", np.int32, _INT, "IntTensor")
int64 = dtype("int64", np.int64, _INT, "LongTensor")
float16 = dtype("float16", np.float16, _FLOAT, "HalfTensor")
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, _FLOAT, "BFloat16Tensor")
float32 = dtype("float32", np.float32, _FLOAT, "FloatTensor")
float64 = dtype("float64", np.float64, _FLOAT, "DoubleTensor")
complex64 = dtype("complex64", np.complex64, _COMPLEX, "ComplexFloatTensor")
complex128 = dtype("complex128", np.complex128, _COMPLEX, "ComplexDoubleTensor")

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64
cfloat, cdouble = complex64, complex128

ALL_DTYPES = (bool, uint8, uint16, uint32, uint64, int8, int16, int32, int64, float16,
              bfloat16, float32, float64, complex64, complex128)
_BY_NAME = {d.name: d for d in ALL_DTYPES}
# NumPy dtype -> ember dtype (np.dtype objects hash by value)
_FROM_NP = {d.np: d for d in ALL_DTYPES}


def _dtype_by_name(name):
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype):
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type {np_dtype}. The only supported types are: "
            "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, "
            "uint64, uint32, uint16, uint8, and bool.") from None


def from_python_type(t):
    """The dtype PyTorch uses for a Python type given as a dtype (float -> float64), or None."""
    return {builtins.bool: bool, builtins.int: int64, builtins.float: float64,
            builtins.complex: complex128}.get(t)


_default_dtype = float32


def get_default_dtype():
    return _default_dtype


def set_default_dtype(d):
    global _default_dtype
    if not isinstance(d, dtype) or d not in (float16, bfloat16, float32, float64):
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_dtype = d


def default_complex_dtype():
    return complex128 if _default_dtype is float64 else complex64


_BARE_UNSIGNED = ("uint16", "uint32", "uint64")


def _promote_pair(a, b):
    if a is b:
        return a
    ca, cb = a._category, b._category
    # PyTorch promotes the "barebones" unsigned types only with floating types
    if a.name in _BARE_UNSIGNED or b.name in _BARE_UNSIGNED:
        if ca == _FLOAT:
            return a
        if cb == _FLOAT:
            return b
        raise RuntimeError(f"Promotion for uint16, uint32, uint64 types is not supported, "
                           f"attempted to promote {a.name} and {b.name}")
    if ca == _COMPLEX or cb == _COMPLEX:
        # the complex type keeps its width unless the other operand is a wider float/complex
        other_real = [d.to_real() for d in (a, b) if d._category >= _FLOAT]
        return complex128 if any(d is float64 for d in other_real) else complex64
    if ca == _FLOAT and cb == _FLOAT:
        if {a, b} == {float16, bfloat16}:
            return float32
        return a if a.itemsize >= b.itemsize else b
    if ca == _FLOAT:
        return a
    if cb == _FLOAT:
        return b
    # signed integers, uint8 and bool: NumPy's table agrees with PyTorch's here
    return _FROM_NP[np.promote_types(a.np, b.np)]


_PROMOTE_CACHE = {}


def promote_types(a, b):
    """The smallest dtype both `a` and `b` can be cast to (``torch.promote_types``)."""
    key = (a, b)
    r = _PROMOTE_CACHE.get(key)
    if r is None:
        r = _PROMOTE_CACHE[key] = _promote_pair(a, b)
    return r


def _combine(higher, lower):
    # PyTorch's combine_categories: a higher-priority group wins unless the lower one
    # belongs to a higher category (int tensor + float scalar -> float).
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher._category == _COMPLEX:
        return higher
    if lower._category == _COMPLEX:
        if higher._category == _FLOAT:
            return higher.to_complex()
        return lower
    if higher._category == _FLOAT:
        return higher
    if higher is bool or lower._category == _FLOAT:
        return promote_types(higher, lower)
    return higher


def scalar_dtype(value):
    """The dtype a Python scalar takes when it is the only operand."""
    t = type(value)
    if t is builtins.bool or t is np.bool_:
        return bool
    if t is builtins.int:
        return int64
    if t is builtins.float:
        return _default_dtype
    if t is builtins.complex:
        return default_complex_dtype()
    if isinstance(value, np.generic):
        return from_numpy_dtype(value.dtype)
    raise TypeError(f"unsupported scalar type {t.__name__}")


def result_dtype(*operands):
    """PyTorch's result_type over tensors and Python scalars.

    Dimensioned tensors take precedence over 0-dim tensors, which take precedence over
    Python scalars, unless the lower group has a higher category.
    """
    from ._tensor import Tensor
    dim = zero = wrapped = None
    for x in operands:
        if isinstance(x, Tensor):
            d = x.dtype
            if x._data.ndim:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        elif x is None:
            continue
        else:
            d = scalar_dtype(x)
            if isinstance(x, np.generic):
                # NumPy scalars behave like 0-dim tensors
                zero = d if zero is None else promote_types(zero, d)
            else:
                wrapped = d if wrapped is None else promote_types(wrapped, d)
    return _combine(dim, _combine(zero, wrapped))


def result_type(tensor1, tensor2):
    return result_dtype(tensor1, tensor2)


def can_cast(from_, to):
    """Whether PyTorch's casting rules allow `from_` -> `to` for in-place results."""
    return from_._category <= to._category


class finfo:
    def __init__(self, type=None):
        type = type or _default_dtype
        if not type.is_floating_point and not type.is_complex:
            raise TypeError(f"finfo only supports floating point and complex types, got {type}")
        info = ml_dtypes.finfo(type.to_real().np) if type is bfloat16 else np.finfo(type.to_real().np)
        self.bits = info.bits
        self.eps = builtins.float(info.eps)
        self.max = builtins.float(info.max)
        self.min = builtins.float(info.min)
        self.tiny = builtins.float(info.tiny)
        self.smallest_normal = self.tiny
        self.resolution = 10.0 ** -builtins.int(info.precision)
        self.dtype = type.to_real().name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    def __init__(self, type):
        if type._category != _INT:
            raise TypeError(f"iinfo only supports integer types, got {type}")
        info = np.iinfo(type.np)
        self.bits = info.bits
        self.max = builtins.int(info.max)
        self.min = builtins.int(info.min)
        self.dtype = type.name

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
