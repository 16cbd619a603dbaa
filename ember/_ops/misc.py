"""The rest of the torch namespace: renorm, integer and float-bit math (gcd, lcm, ldexp,
frexp, nextafter), predicates (is_signed, isin ...), fill_/zero_, resize_, detach, the
in-place shape methods (squeeze_, t_ ...), the CPU-only helpers (apply_, map_), hash_tensor
and norm_except_dim. Index generators live in index_generators.py, the trapezoid rule in
integration.py, scatter-into-copy ops and copy variants in copy_variants.py, statistics in
statistics.py, windows in windows.py.

Most ops here are compositions of differentiable primitives (STYLE 3): their gradients
come from the primitives, so they need no backward of their own. The few that are not
differentiable (gcd, frexp's exponent) compute on arrays and return tensors
without history.
"""
import builtins
import math
import numbers
import sys

import numpy as np

from ..autograd.graph import rename as rename_node
from .._backend import as_array, array_namespace, like
from .. import _dtype
from .._tensor import Tensor, Size
from ..autograd import grad_mode, forward_ad
from ._base import Op, apply
from .cumulative import logcumsumexp   # (a scan: it lives with the scans)
from ._util import wrap_dim, dtype_name, check_tensor, with_out as _with_out, \
    check_tensor as _require_tensor, check_scalar_fits
from .conversion import commit_inplace, inplace_source, check_inplace
from .rearrange import tril, triu
from .reduction import _return_type
from .index_generators import _to

__all__ = ["isin", "renorm", "gcd", "lcm", "ldexp", "frexp", "nextafter", "logcumsumexp",
           "is_same_size", "is_signed", "fill", "fill_", "zero_", "is_inference", "get_device",
           "resize_as_", "detach", "detach_"]

_frexp_type = _return_type("frexp", ["mantissa", "exponent"])


def _E():
    """The ember namespace (imported late: this module is loaded while it is built)."""
    import ember
    return ember


# ---------------------------------------------------------------------------- norms

def renorm(input, p, dim, maxnorm):
    """Rescale each slice along `dim` whose p-norm exceeds maxnorm to norm maxnorm:
    out = x * where(||x_i|| > maxnorm, maxnorm / (||x_i|| + 1e-7), 1)."""
    E = _E()
    _require_tensor(input, "renorm")
    if not isinstance(p, numbers.Real) or p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if input.dim() <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.dim()} "
                           f"dimensions")
    d = wrap_dim(dim, input.dim())
    others = tuple(k for k in range(input.dim()) if k != d)
    norms = E.linalg.vector_norm(input, ord=p, dim=others, keepdim=True)
    factor = E.where(norms > maxnorm, maxnorm / (norms + 1e-7), norms.new_ones(()))
    return input * factor


# ---------------------------------------------------------------------------- integer / float bits

def _integer_binary(name, ufunc):
    def fn(input, other, *, out=None):
        E = _E()
        _require_tensor(input, name)
        if not isinstance(other, Tensor):
            _require_tensor(other, name, "other", 2)
        dt = _dtype.result_dtype(input, other)
        if dt.is_floating_point or dt.is_complex or dt is _dtype.bool:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{dtype_name(dt)}'")
        result = Tensor._make(as_array(ufunc(input._data.astype(dt.np),
                                               other._data.astype(dt.np))))
        return _with_out(result, out)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} of two integer tensors (not differentiable)."
    return fn


gcd = _integer_binary("gcd", np.gcd)
lcm = _integer_binary("lcm", np.lcm)


def ldexp(input, other, *, out=None):
    """input * 2 ** other (a float result)."""
    E = _E()
    _require_tensor(input, "ldexp")
    return _with_out(E.mul(input, E.pow(2.0, other)), out)


class Frexp(Op):
    """(m, e) with input = m * 2**e, |m| in [0.5, 1) and e an int32 exponent.

    The exponent is piecewise constant, so dx = grad_m * 2**-e (the exponent has no
    gradient)."""
    _name = "FrexpBackward0"
    nondiff_outputs = (1,)

    @staticmethod
    def forward(ctx, arr):
        xp = ctx.xp
        compute = arr.astype(np.float32) if arr.dtype == _dtype.bfloat16.np else arr
        m, e = np.frexp(compute)
        one = xp.ones((), np.float32 if arr.dtype == _dtype.bfloat16.np else arr.dtype)
        with np.errstate(over="ignore"):   # 2**-e of a denormal may overflow: inf, as PyTorch
            ctx.scale = xp.ldexp(one, -e)
        return xp.asarray(m).astype(arr.dtype), xp.asarray(e).astype(np.int32)

    @staticmethod
    def backward(ctx, grad_m, grad_e):
        return grad_m * Tensor._make(ctx.scale).to(grad_m.dtype)


def frexp(input, *, out=None):
    """Mantissa in [0.5, 1) (sign of input) and int32 exponent: input = m * 2 ** e."""
    _require_tensor(input, "frexp")
    if not input.is_floating_point():
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    m, e = apply(Frexp, (input,), (input._data,))
    return _with_out(_frexp_type(m, e), out, "frexp")


class Nextafter(Op):
    """out = the floating-point number next to x in the direction of y (y itself where
    x == y). out differs from x by one ulp at most, so PyTorch differentiates it as the
    identity in x where x != y: dx = grad * (x != y), dy = 0."""
    _name = "NextafterBackward0"
    save_inputs = (0, 1)

    @staticmethod
    def forward(ctx, x, y):
        return as_array(np.nextafter(x, y))

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return grad * (x != y).to(grad.dtype), grad.new_zeros(grad.shape)


def nextafter(input, other, *, out=None):
    """The next floating-point value after input towards other."""
    _require_tensor(input, "nextafter")
    _require_tensor(other, "nextafter", "other", 2)
    dt = _dtype.result_dtype(input, other)
    if not dt.is_floating_point:   # float16 and bfloat16 too (NumPy and ml_dtypes step them)
        raise NotImplementedError(f"\"nextafter_cpu\" not implemented for '{dtype_name(dt)}'")
    result = apply(Nextafter, (input, other),
                   (input._data.astype(dt.np), other._data.astype(dt.np)))
    return _with_out(result, out)


# ---------------------------------------------------------------------------- predicates

def is_same_size(input, other):
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input):
    """False only for unsigned integer and bool tensors."""
    dt = input.dtype
    return not (dt is _dtype.bool or dt.name.startswith("uint"))


def is_nonzero(input):
    """The truth value of a one-element tensor."""
    if input.numel() == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if input.numel() > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return builtins.bool(input._data.reshape(-1)[0])


def is_inference(input):
    """Whether `input` was made while inference_mode was on (or is a view of such a
    tensor)."""
    return input._inference


def get_device(input):
    """The CUDA device index of a CUDA tensor, else -1 (CPU and meta tensors)."""
    dev = input.device
    return dev.index if dev.type == "cuda" else -1


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """A bool tensor: whether each element of `elements` is in `test_elements`
    (either may be a scalar)."""
    E = _E()
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin() received an invalid combination of arguments - got "
                        f"({type(elements).__name__}, {type(test_elements).__name__})")
    a = elements._cpu_array() if isinstance(elements, Tensor) else as_array(elements)
    b = test_elements._cpu_array() if isinstance(test_elements, Tensor) else \
        as_array(test_elements)
    shape = a.shape
    result = np.isin(a.reshape(-1), b.reshape(-1), invert=invert).reshape(shape)
    dev = elements.device if isinstance(elements, Tensor) else test_elements.device
    return _to(as_array(result), dev if dev.type != "cpu" else None)


# ---------------------------------------------------------------------------- fill / zero

class Fill(Op):
    """out = value everywhere (input's shape and dtype);  dinput = 0, dvalue = sum(grad).
    PyTorch's nodes: FillBackward0 (fill with a number), 1 (with a tensor), 2 and 3 (fill_),
    ZeroBackward0 (zero_)."""
    _name = "FillBackward0"
    # a number value is a Scalar argument: no edge for it
    edge_operands = {"FillBackward0": (0,), "FillBackward2": (0,), "ZeroBackward0": (0,)}

    @staticmethod
    def forward(ctx, x, value):
        return _dtype.filled(ctx.xp, x.shape, value, x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0, grad.sum()


def _fill_value(value):
    if isinstance(value, Tensor):
        if value.dim() != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.dim()} dimensions.")
        return value, value._data
    if not isinstance(value, (int, float, complex, np.number, np.bool_)):
        # PyTorch's parser (NumPy's ValueError for a string leaked)
        name = type(value).__name__
        why = f"      didn't match because some of the arguments have invalid types: (!{name}!)\n"
        raise TypeError(f"fill_() received an invalid combination of arguments - got ({name}), "
                        f"but expected one of:\n * (Tensor value)\n{why} * (Number value)\n{why}")
    return None, value


def fill(input, value):
    """A tensor like input filled with value (a number or a 0-dim tensor)."""
    _require_tensor(input, "fill")
    value_tensor, v = _fill_value(value)
    if value_tensor is None and not (input._data.size == 1 and input.dtype.itemsize == 2
                                     and input.dtype.is_floating_point):
        # PyTorch's checked conversion (1j into a float tensor, 2**40 into float16, 1e39 into
        # complex64: RuntimeError); a one-element float16/bfloat16 fill is unchecked there
        check_scalar_fits(v, input.dtype)
    out = apply(Fill, (input, value_tensor), (input._data, v))
    if value_tensor is not None and out.grad_fn is not None:
        rename_node(out.grad_fn, "FillBackward1")
    return out


def fill_(input, value, _node_names=("FillBackward2", "FillBackward3")):
    """Fill input with value in place."""
    _require_tensor(input, "fill_")
    _fill_value(value)
    filled = fill(inplace_source(input, (value,)), value)
    if filled.grad_fn is not None:
        rename_node(filled.grad_fn, _node_names[isinstance(value, Tensor)])
    # one value written everywhere: an expanded input is allowed, as in PyTorch
    return commit_inplace(input, filled, overlap_ok=True)


def zero_(input):
    """Set every element to zero in place."""
    return fill_(input, 0, ("ZeroBackward0", None))


def _fill_diagonal_(self, fill_value, wrap=False):
    """Write fill_value on the main diagonal (all dims equal for more than 2 dims; a tall
    matrix restarts the diagonal every ncols + 1 rows when wrap)."""
    if self.dim() < 2:
        raise RuntimeError("dimensions must larger than 1")
    if self.dim() > 2 and len(set(self.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    n = builtins.min(self.shape)
    if self.dim() == 2:
        rows, cols = self.shape
        step = cols + 1
        flat_len = rows * cols
        if not wrap:
            flat_len = builtins.min(flat_len, cols * cols)
        positions = np.arange(0, flat_len, step)
        idx = np.unravel_index(positions, self.shape)
    else:
        idx = tuple(np.arange(n) for _ in range(self.dim()))
    mask = np.zeros(self.shape, dtype=bool)
    mask[idx] = True
    return self.masked_fill_(Tensor._make(like(mask, self._data)), fill_value)


def resize_(self, *sizes, size=None, memory_format=None):
    """Change the shape in place; the first elements keep their values (row-major), new
    ones are zero. Not allowed on tensors that require grad or carry a forward-AD tangent."""
    if size is not None:   # x.resize_(size=(2, 3))
        sizes = (size,)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list, Size)):
        sizes = tuple(sizes[0])
    for s in sizes:
        if not isinstance(s, numbers.Integral) or s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(sizes)}")
    if self._requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    if self._fw_tangent is not None:   # (the tangent would no longer fit the values)
        raise RuntimeError("cannot resize variables that has a forward grad")
    if tuple(sizes) == tuple(self._data.shape):
        return self
    numel = math.prod(sizes)
    if numel <= self._data.size and self._data.flags.c_contiguous:
        # PyTorch keeps the storage when it is large enough: the tensor becomes a view of
        # its first `numel` elements, so writes still reach the memory other tensors share
        # (the old dcgan's input.data.resize_(size).copy_(batch) on a Variable's storage)
        self._data = self._data.reshape(-1)[:numel].reshape(sizes)
        self._bump_version()
        return self
    if self.device.type == "meta" or self.is_quantized:   # the elements, copied
        new = array_namespace(self._data).zeros(sizes, dtype=self._data.dtype)
        flat_old = self._data.reshape(-1)
        count = builtins.min(flat_old.size, new.size)
        new.reshape(-1)[:count] = flat_old[:count]
        self._data = new
        self._bump_version()
        return self
    data = self._data
    if type(data) is np.ndarray and data.base is None and data.flags.c_contiguous and \
            sys.getrefcount(data) <= 3:
        # memory this tensor alone holds (the local name, the slot and getrefcount's
        # argument refer to it): nothing else can follow a storage resize, so new memory
        # with the old elements first, without the walk over every object that a shared
        # storage's resize takes (an observer resizing its buffers in every conversion)
        new = np.zeros(numel, dtype=data.dtype)
        new[:data.size] = data.reshape(-1)
        self._data = new.reshape(sizes)
        self._bump_version()
        return self
    del data
    # PyTorch lays the new shape out contiguously from the storage offset over the whole
    # storage (not over this tensor's elements): what lies there keeps its values, a view
    # of another tensor's storage reads that tensor's later elements
    from .creation import empty
    offset = self.storage_offset()
    storage = self.untyped_storage()
    need = (offset + numel) * self._data.itemsize
    if need > storage.nbytes():   # grown: the tensors on the storage follow it, as PyTorch's
        storage.resize_(need)
    flat = empty(0, dtype=self.dtype, device=self.device).set_(storage)._data.reshape(-1)
    self._data = flat[offset:offset + numel].reshape(sizes)
    self._bump_version()
    return self


def resize_as_(self, the_template, memory_format=None):
    return resize_(self, tuple(the_template.shape))


def _resize(self, *sizes, _name="resize"):
    """Tensor.resize / resize_as (deprecated): as PyTorch's autograd Resize, the same values
    under another shape of the same number of elements (sharing memory with a contiguous
    tensor, differentiable)."""
    from .._user_warning import warn_at_caller
    warn_at_caller(f"non-inplace {_name} is deprecated")
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list, Size)):
        sizes = tuple(sizes[0])
    sizes = tuple(int(s) for s in sizes)
    n = math.prod(sizes)
    if n != self.numel():
        raise RuntimeError(f"requested resize to {'x'.join(map(str, sizes))} ({n} elements in "
                           f"total), but the given tensor has a size of "
                           f"{'x'.join(map(str, self.shape))} ({self.numel()} elements). "
                           f"autograd's resize can only change the shape of a given tensor, "
                           f"while preserving the number of elements. ")
    return self.contiguous().view(sizes)


def _share_memory_(self):
    """Move the values into shared memory, so that processes this tensor is sent to see
    its writes and it theirs (see ember/_shared_memory.py)."""
    from .. import _shared_memory
    return _shared_memory.share_memory_(self)


def _is_shared(self):
    from .. import _shared_memory
    return _shared_memory.is_shared(self)


def detach(input):
    return input.detach()


def detach_(input):
    return input.detach_()


# ---------------------------------------------------------------------------- in-place shape ops

def _shape_inplace(name, view_op):
    """self.<name>_(...): self takes the shape of view_op(self, ...) in place.

    The data becomes the view's array (same memory); when autograd records the op, self
    takes the view's place in the graph (TBackward0, SqueezeBackward1 ...)."""
    def method(self, *args, **kwargs):
        check_inplace(self)
        result = view_op(self, *args, **kwargs)
        self._data = result._data
        self._bump_version()   # (as PyTorch's: a metadata change counts as a write)
        if result._requires_grad and grad_mode.is_grad_enabled():
            self.grad_fn, self._output_nr = result.grad_fn, result._output_nr
        if result._fw_tangent is not None:   # forward AD: the tangent takes the new shape too
            forward_ad.set_tangent(self, result._fw_tangent)
        return self
    method.__name__ = name
    method.__doc__ = f"In-place {name[:-1]}: changes self's shape, keeps its memory."
    return method


# ---------------------------------------------------------------------------- CPU-only helpers

def _apply_(self, callable):
    """Apply a Python function to every element in place (CPU, no autograd)."""
    if not self.is_cpu:
        raise TypeError("apply_ is only implemented on CPU tensors")
    check_inplace(self)
    values = [callable(v) for v in self._data.reshape(-1).tolist()]
    self._data[...] = as_array(values, dtype=self._data.dtype).reshape(self._data.shape)
    self._bump_version()
    return self


def _map_(self, tensor, callable):
    """self[i] = callable(self[i], tensor[i]) in place (tensor broadcast to self)."""
    if not self.is_cpu:
        raise TypeError("map_ is only implemented on CPU tensors")
    other = np.broadcast_to(tensor._data, self._data.shape)
    values = [callable(a, b) for a, b in zip(self._data.reshape(-1).tolist(),
                                             other.reshape(-1).tolist())]
    self._data[...] = as_array(values, dtype=self._data.dtype).reshape(self._data.shape)
    self._bump_version()
    return self


def _map2_(self, x, y, callable):
    """self[i] = callable(self[i], x[i], y[i]) in place."""
    if not self.is_cpu:
        raise TypeError("map2_ is only implemented on CPU tensors")
    xa = np.broadcast_to(x._data, self._data.shape).reshape(-1).tolist()
    ya = np.broadcast_to(y._data, self._data.shape).reshape(-1).tolist()
    values = [callable(a, b, c) for a, b, c in zip(self._data.reshape(-1).tolist(), xa, ya)]
    self._data[...] = as_array(values, dtype=self._data.dtype).reshape(self._data.shape)
    self._bump_version()
    return self


def _new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False,
                       layout=None, pin_memory=False):
    E = _E()
    from .creation import pin_memory_arg
    pin_memory_arg("new_empty_strided", pin_memory)
    return E.empty_strided(size, stride, dtype=dtype or self.dtype, device=device or self.device,
                           requires_grad=requires_grad, pin_memory=pin_memory)


def _as_subclass(self, cls):
    """self's data and autograd history as an instance of the Tensor subclass cls."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError(f"as_subclass(): argument 'cls' must be a subclass of Tensor, not "
                        f"{cls!r}")
    t = cls._make(self._data, self._requires_grad)
    t.grad_fn, t._output_nr = self.grad_fn, self._output_nr
    if self._vc is None:
        self._vc = [0]
    t._vc = self._vc
    if self.grad_fn is None and self._requires_grad:
        from .shape import view
        t._base = self  # a leaf: gradients reach the original through the view machinery
        t._view_fn = lambda b: view(b, b.shape)
        t._gfv = self._vc[0]
        alias = view(self, self.shape)
        t.grad_fn, t._output_nr = alias.grad_fn, alias._output_nr
    return t


def _new(self, *args, **kwargs):
    """Legacy Tensor.new: a tensor of self's dtype and device (data or a size)."""
    E = _E()
    dtype = kwargs.pop("dtype", self.dtype)
    device = kwargs.pop("device", self.device)
    if not args:
        return E.empty(0, dtype=dtype, device=device)
    if len(args) == 1 and isinstance(args[0], Tensor):
        return args[0]
    if len(args) == 1 and not isinstance(args[0], (numbers.Integral, Size)):
        return E.tensor(args[0], dtype=dtype, device=device)
    return E.empty(*args, dtype=dtype, device=device)


def _inplace(fn, overlap_ok=False):
    """The in-place method of `fn`; `overlap_ok`: PyTorch lets it write into an expanded
    tensor (tril_/triu_)."""
    def method(self, *args, **kwargs):
        return commit_inplace(self, fn(inplace_source(self, args), *args, **kwargs),
                              overlap_ok)
    method.__name__ = fn.__name__ + "_"
    return method


def _attach_methods():
    Tensor.renorm = renorm
    Tensor.renorm_ = _inplace(renorm)
    Tensor.gcd = gcd
    Tensor.lcm = lcm
    Tensor.gcd_ = _inplace(gcd)
    Tensor.lcm_ = _inplace(lcm)
    Tensor.ldexp = ldexp
    Tensor.ldexp_ = _inplace(ldexp)
    Tensor.frexp = frexp
    Tensor.nextafter = nextafter
    Tensor.nextafter_ = _inplace(nextafter)
    Tensor.logcumsumexp = logcumsumexp
    Tensor.is_same_size = is_same_size
    Tensor.is_signed = is_signed
    Tensor.is_inference = is_inference
    Tensor.get_device = get_device
    Tensor.is_nonzero = is_nonzero
    Tensor.fill_ = fill_
    Tensor.zero_ = zero_
    Tensor.fill_diagonal_ = _fill_diagonal_
    Tensor.resize_ = resize_
    Tensor.resize_as_ = resize_as_
    Tensor.resize = _resize
    Tensor.resize_as = lambda self, other: _resize(self, tuple(other.shape), _name="resize_as")
    Tensor.apply_ = _apply_
    Tensor.map_ = _map_
    Tensor.map2_ = _map2_
    Tensor.new_empty_strided = _new_empty_strided
    Tensor.as_subclass = _as_subclass
    Tensor.new = _new
    Tensor.share_memory_ = _share_memory_
    Tensor.is_shared = _is_shared
    Tensor.tril_ = _inplace(tril, overlap_ok=True)
    Tensor.triu_ = _inplace(triu, overlap_ok=True)
    Tensor.squeeze_ = _shape_inplace("squeeze_", lambda self, dim=None: self.squeeze()
                                     if dim is None else self.squeeze(dim))
    Tensor.unsqueeze_ = _shape_inplace("unsqueeze_", lambda self, dim: self.unsqueeze(dim))
    Tensor.t_ = _shape_inplace("t_", lambda self: self.t())
    Tensor.transpose_ = _shape_inplace("transpose_", lambda self, d0, d1: self.transpose(d0, d1))
    Tensor.swapaxes_ = _shape_inplace("swapaxes_", lambda self, d0, d1: self.transpose(d0, d1))
    Tensor.swapdims_ = Tensor.swapaxes_
    Tensor.as_strided_ = _shape_inplace("as_strided_", lambda self, size, stride,
                                        storage_offset=None: self.as_strided(size, stride,
                                                                             storage_offset))


_attach_methods()


# ---------------------------------------------------------------------------- hash_tensor

_HASH_AS = {True: np.float64, False: np.int64}


def hash_tensor(input, dim=(), *, keepdim=False, mode=0):
    """XOR of input's elements over `dim` (default all), each first widened to 64 bits
    (floats to float64, integers and bools to int64) and read as uint64 (mode 0, the only
    mode). Returns uint64, outside autograd."""
    check_tensor(input, "hash_tensor")
    if mode != 0:
        raise RuntimeError(f"Unknown hash_tensor mode: {mode}")
    if input.dtype.is_complex:
        raise NotImplementedError(f"\"xor_sum_cpu\" not implemented for "
                                  f"'{dtype_name(input.dtype)}'")
    a = input._data
    dims = [dim] if isinstance(dim, int) else list(dim)
    axes = tuple(wrap_dim(d, a.ndim) for d in dims) if dims else tuple(builtins.range(a.ndim))
    if a.ndim == 0:
        axes = ()   # dim 0 / -1 of a 0-dim tensor: the element itself (wrap_dim checked it)
    if not dims and a.size == 0:
        raise RuntimeError("hash_tensor: Expected reduction dim to be specified for "
                           "input.numel() == 0. Specify the reduction dim with the 'dim' "
                           "argument.")
    for ax in axes:
        if a.shape[ax] == 0:
            raise IndexError(f"hash_tensor: Expected reduction dim {ax} to have non-zero size.")
    bits = a.astype(_HASH_AS[bool(input.dtype.is_floating_point)]).view(np.uint64)
    xp = array_namespace(a)
    out = xp.bitwise_xor.reduce(bits, axis=axes, keepdims=keepdim) if axes else bits.copy()
    return Tensor._make(xp.asarray(out))


__all__ += ["hash_tensor"]


# ---------------------------------------------------------------------------- norm_except_dim

def norm_except_dim(v, pow=2, dim=0):
    """The p-norm of v over every dim but `dim`, kept as size-1 dims (weight norm's
    ||v||); dim=-1 gives the norm of all of v."""
    check_tensor(v, "norm_except_dim", "v")
    if dim == -1:
        return v.norm(pow)
    d = wrap_dim(dim, v.dim())
    others = [i for i in builtins.range(v.dim()) if i != d]
    return v.norm(pow, others, keepdim=True) if others else v.abs()


__all__ += ["norm_except_dim"]
Tensor.hash_tensor = hash_tensor
