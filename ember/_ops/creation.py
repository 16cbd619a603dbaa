"""Tensor creation: tensor, as_tensor, from_numpy, zeros/ones/full/empty, ranges, eye,
the *_like forms, and random sampling."""
import builtins
import math
import numbers

import numpy as np

from .. import _dtype
from .._device import as_device, CPU
from .._random import gen_of
from .._tensor import Tensor, Size

__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "full", "empty",
           "eye", "arange", "range", "linspace", "logspace", "zeros_like", "ones_like",
           "full_like", "empty_like", "rand", "randn", "randint", "randperm", "rand_like",
           "randn_like", "randint_like", "normal", "bernoulli", "multinomial", "poisson",
           "empty_strided", "scalar_tensor", "frombuffer"]


def _to_device(arr, device):
    dev = as_device(device)
    if dev.type == "cpu":
        return arr
    from .._backend import cuda_backend
    return cuda_backend().from_numpy(arr, dev.index)


def _finish(arr, dtype, device, requires_grad):
    t = Tensor._make(_to_device(arr, device))
    if requires_grad:
        t.requires_grad = True
    return t


def _check_dtype(dtype, fname):
    if dtype is not None and not isinstance(dtype, _dtype.dtype):
        raise TypeError(f"{fname}(): argument 'dtype' must be ember.dtype, not "
                        f"{type(dtype).__name__}")


def _infer_array(data):
    """NumPy array for arbitrary (nested) data with PyTorch's dtype inference."""
    if isinstance(data, Tensor):
        return data._cpu_array(), True
    if isinstance(data, np.ndarray):
        return data, True
    if isinstance(data, np.generic):
        return np.asarray(data), True
    if isinstance(data, (list, tuple)) and _contains_tensor(data):
        arr = np.array([_infer_array(d)[0] for d in data])
        return arr, True
    if isinstance(data, (str, bytes)) or data is None or isinstance(data, dict):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    try:
        arr = np.array(data)
    except (ValueError, OverflowError) as e:
        if isinstance(e, OverflowError) or "too large" in str(e) or "int too big" in str(e):
            raise RuntimeError(f"Overflow when unpacking long") from None
        raise ValueError(f"expected sequence of equal-length lists: {e}") from None
    if arr.dtype == object:
        for x in np.ravel(arr):
            if not isinstance(x, numbers.Number):
                raise TypeError(f"new(): invalid data type '{type(x).__name__}'")
        raise ValueError("expected sequence of equal-length lists (ragged nested sequence)")
    if arr.dtype.kind in "US":
        raise TypeError(f"new(): invalid data type 'str'")
    return arr, False


def _contains_tensor(seq):
    for x in seq:
        if isinstance(x, Tensor):
            return True
        if isinstance(x, (list, tuple)) and x and _contains_tensor(x):
            return True
    return False


def _python_dtype(arr):
    k = arr.dtype.kind
    if k == "f":
        return _dtype.get_default_dtype()
    if k == "c":
        return _dtype.default_complex_dtype()
    if k in "iu":
        return _dtype.int64
    if k == "b":
        return _dtype.bool
    return _dtype.from_numpy_dtype(arr.dtype)


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of `data` (nested lists, scalars, arrays, tensors)."""
    _check_dtype(dtype, "tensor")
    if isinstance(data, Tensor):
        import warnings
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or sourceTensor.detach().clone()."
                      "requires_grad_(True), rather than torch.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
    arr, typed = _infer_array(data)
    dt = dtype or (_dtype.from_numpy_dtype(arr.dtype) if typed else _python_dtype(arr))
    arr = np.array(arr, dtype=dt.np, copy=True)
    if device is None and isinstance(data, Tensor):
        device = data.device
    return _finish(arr, dt, device, requires_grad)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    return tensor(s, dtype=dtype or _dtype.get_default_dtype(), device=device,
                  requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like tensor(), but shares memory with `data` (a Tensor or ndarray) when it can."""
    if isinstance(data, Tensor):
        if (dtype is None or data.dtype is dtype) and (device is None or
                                                       as_device(device) == data.device):
            return data
        return data.to(device=device, dtype=dtype)
    if isinstance(data, np.ndarray) and (device is None or as_device(device).type == "cpu"):
        t = from_numpy(data)
        return t if dtype is None or dtype is t.dtype else t.to(dtype)
    return tensor(data, dtype=dtype, device=device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    if copy:
        t = tensor(obj, dtype=dtype, device=device)
    else:
        t = as_tensor(obj, dtype=dtype, device=device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def from_numpy(ndarray):
    """A tensor sharing memory with `ndarray` (writes show through both ways)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _dtype.from_numpy_dtype(ndarray.dtype)  # raises TypeError for unsupported dtypes
    if not ndarray.dtype.isnative:
        raise ValueError("given numpy array has byte order different from the native byte order. "
                         "Conversion between byte orders is currently not supported.")
    return Tensor._make(ndarray)


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    arr = np.frombuffer(buffer, dtype=dtype.np, count=count, offset=offset)
    return _finish(arr, dtype, None, requires_grad)


def _shape(size, fname):
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if not isinstance(s, numbers.Integral) or isinstance(s, bool):
            raise TypeError(f"{fname}(): argument 'size' must be tuple of ints, but found element of "
                            f"type {type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(size)}")
        out.append(int(s))
    return tuple(out)


def _filled(fname, size, value, dtype, device, requires_grad):
    _check_dtype(dtype, fname)
    shape = _shape(size, fname)
    dt = dtype or _dtype.get_default_dtype()
    dev = as_device(device)
    if dev.type == "cpu":
        if value == 0:
            arr = np.zeros(shape, dtype=dt.np)
        elif value is None:
            arr = np.empty(shape, dtype=dt.np)
        else:
            arr = np.full(shape, value, dtype=dt.np)
        t = Tensor._make(arr)
    else:
        from .._backend import cuda_backend
        xp = cuda_backend().xp
        with xp.cuda.Device(dev.index or 0):
            arr = xp.full(shape, 0 if value is None else value, dtype=dt.np)
        t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad = True
    return t


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None):
    return _filled("zeros", size, 0, dtype, device, requires_grad)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False, memory_format=None):
    return _filled("ones", size, 1, dtype, device, requires_grad)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None):
    return _filled("empty", size, None, dtype, device, requires_grad)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False):
    return _filled("empty_strided", (tuple(size),), None, dtype, device, requires_grad)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = _dtype.scalar_dtype(fill_value)
    return _filled("full", (tuple(size) if isinstance(size, (list, tuple)) else (size,),),
                   fill_value, dtype, device, requires_grad)


def _like(fname, input, value, dtype, device, requires_grad):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fname}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return _filled(fname, (input._data.shape,), value, dtype or input.dtype,
                   device if device is not None else input.device, requires_grad)


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    return _like("zeros_like", input, 0, dtype, device, requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    return _like("ones_like", input, 1, dtype, device, requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    return _like("empty_like", input, None, dtype, device, requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _like("full_like", input, fill_value, dtype, device, requires_grad)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    if n < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    if m is not None and m < 0:
        raise RuntimeError(f"m must be greater or equal to 0, got {m}")
    dt = dtype or _dtype.get_default_dtype()
    return _finish(np.eye(n, m, dtype=dt.np), dt, device, requires_grad)


def _num(x):
    return x.item() if isinstance(x, Tensor) else x


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False):
    """Values from start (inclusive) to end (exclusive) by step."""
    start, end, step = _num(start), _num(end), _num(step)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        if all(isinstance(v, numbers.Integral) for v in (start, end, step)):
            dtype = _dtype.int64
        else:
            dtype = _dtype.get_default_dtype()
    n = builtins.max(0, math.ceil((end - start) / step))
    if dtype.is_floating_point:
        arr = (start + np.arange(n, dtype=np.float64) * step).astype(dtype.np)
    else:
        arr = np.arange(start, start + n * step, step)[:n].astype(dtype.np)
    return _finish(arr, dtype, device, requires_grad)


def range(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    import warnings
    warnings.warn("torch.range is deprecated and will be removed in a future release because its "
                  "behavior is inconsistent with Python's range builtin. Instead, use torch.arange, "
                  "which produces values in [start, end).", UserWarning, stacklevel=2)
    if end is None:
        start, end = 0, start
    dtype = dtype or _dtype.get_default_dtype()
    n = int(math.floor((end - start) / step)) + 1
    arr = (start + np.arange(n, dtype=np.float64) * step).astype(dtype.np)
    return _finish(arr, dtype, device, requires_grad)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    start, end = _num(start), _num(end)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = dtype or _dtype.get_default_dtype()
    # PyTorch fills the first half forward from start and the second half backward from end
    if steps == 1:
        arr = np.array([start], dtype=np.float64)
    else:
        step = (end - start) / (steps - 1)
        idx = np.arange(steps, dtype=np.float64)
        half = steps // 2
        arr = np.where(idx < half, start + step * idx, end - step * (steps - 1 - idx))
    if not dt.is_floating_point and not dt.is_complex:
        arr = np.trunc(arr) if dt is not _dtype.bool else arr
    return _finish(arr.astype(dt.np), dt, device, requires_grad)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    dt = dtype or _dtype.get_default_dtype()
    lin = linspace(start, end, steps, dtype=_dtype.float64)._data
    return _finish(np.power(base, lin).astype(dt.np), dt, device, requires_grad)


# ---------------------------------------------------------------------------- random

def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):
    """Uniform samples on [0, 1)."""
    dt = dtype or _dtype.get_default_dtype()
    if not dt.is_floating_point:
        raise RuntimeError(f"\"check_uniform_bounds\" not implemented for '{dt.name}'")
    arr = gen_of(generator).random(_shape(size, "rand"), dtype=np.float64).astype(dt.np)
    return _finish(arr, dt, device, requires_grad)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False):
    """Standard normal samples."""
    dt = dtype or _dtype.get_default_dtype()
    if not dt.is_floating_point and not dt.is_complex:
        raise RuntimeError(f"\"normal_kernel_cpu\" not implemented for '{dt.name}'")
    arr = gen_of(generator).standard_normal(_shape(size, "randn")).astype(dt.np)
    return _finish(arr, dt, device, requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
            device=None, requires_grad=False):
    """Integers uniform on [low, high)."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list, Size)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    dt = dtype or _dtype.int64
    arr = gen_of(generator).integers(low, high, size=_shape((size,), "randint")).astype(dt.np)
    return _finish(arr, dt, device, requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    dt = dtype or _dtype.int64
    return _finish(gen_of(generator).permutation(n).astype(dt.np), dt, device, requires_grad)


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None, generator=None):
    return rand(input.shape, generator=generator, dtype=dtype or input.dtype,
                device=device or input.device, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None, generator=None):
    return randn(input.shape, generator=generator, dtype=dtype or input.dtype,
                 device=device or input.device, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None, generator=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, generator=generator, dtype=dtype or input.dtype,
                   device=device or input.device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, requires_grad=False):
    """Normal samples with the given mean(s) and standard deviation(s)."""
    g = gen_of(generator)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        if isinstance(std, Tensor) and (std._data < 0).any():
            raise RuntimeError("normal expects all elements of std >= 0.0")
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        arr = (m + s * g.standard_normal(shape)).astype(ref.dtype.np)
        return _finish(arr, ref.dtype, ref.device, False)
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if size is None:
        raise TypeError("normal() received an invalid combination of arguments: size is required "
                        "when mean and std are numbers")
    dt = dtype or _dtype.get_default_dtype()
    arr = (mean + std * g.standard_normal(_shape((size,), "normal"))).astype(dt.np)
    return _finish(arr, dt, device, requires_grad)


def bernoulli(input, p=None, *, generator=None, out=None):
    probs = input._data if p is None else p
    if p is None and ((input._data < 0).any() or (input._data > 1).any()):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    arr = (gen_of(generator).random(input.shape) < probs).astype(input.dtype.np)
    return Tensor._make(_to_device(arr, input.device))


def poisson(input, generator=None):
    arr = gen_of(generator).poisson(input._cpu_array()).astype(input.dtype.np)
    return Tensor._make(_to_device(arr, input.device))


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """Sample category indices from the rows of `input` (unnormalised probabilities)."""
    if input.dim() not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    probs = input._cpu_array().astype(np.float64)
    if (probs < 0).any() or not np.isfinite(probs).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = probs.reshape(-1, probs.shape[-1])
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    g = gen_of(generator)
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, row in enumerate(rows):
        s = row.sum()
        if s <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if replacement:
            out[i] = g.choice(row.size, size=num_samples, replace=True, p=row / s)
        else:
            nz = np.count_nonzero(row)
            if num_samples > nz:
                raise RuntimeError("invalid multinomial distribution (with replacement=False, not "
                                   "enough non-negative category to sample)")
            out[i] = g.choice(row.size, size=num_samples, replace=False, p=row / s)
    if input.dim() == 1:
        out = out[0]
    return Tensor._make(_to_device(out, input.device))


def _rebuild_tensor(arr, requires_grad):
    t = Tensor._make(arr)
    t._requires_grad = requires_grad
    return t
