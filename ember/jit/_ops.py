"""The operators TorchScript code calls, mapped onto ember through explicit tables.

An archive's code names its operators ``torch.<aten name>(...)``, ``ops.aten.<name>(...)``
or ``ops.prim.<name>(...)``, with ATen's argument order (``torch._convolution(input,
weight, bias, stride, padding, dilation, transposed, output_padding, groups, benchmark,
deterministic, cudnn_enabled, allow_tf32)``). ``lookup(namespace, name)`` returns the
ember callable for one such name, or raises NotImplementedError naming it: nothing outside
these tables can be reached from an archive's code.

TorchScript uses the same ``torch.*`` names for numbers, lists and strings as for tensors
(``torch.add(i, 2)``, ``torch.len(xs)``, ``torch.eq(size, [2, 3])``), so the arithmetic
and comparison entries look at their operands: with a Tensor among them they call ember's
op, otherwise Python's operator.

In the code, dtypes, layouts and memory formats are ATen's enum numbers
(``torch.to(x, 6)``: float32); ``scalar_type`` and friends translate them.
"""
import builtins
import math
import operator
import warnings

from .. import _dtype
from .._tensor import Tensor
from . import _ops_fused
from ._error import Error, raise_exception

# ATen's ScalarType numbering (c10/core/ScalarType.h), as TorchScript code writes dtypes
_SCALAR_TYPES = {0: "uint8", 1: "int8", 2: "int16", 3: "int32", 4: "int64", 5: "float16",
                 6: "float32", 7: "float64", 8: "complex32", 9: "complex64", 10: "complex128",
                 11: "bool", 15: "bfloat16"}
_MEMORY_FORMATS = {0: "contiguous_format", 1: "preserve_format", 2: "channels_last",
                   3: "channels_last_3d"}


def _ember():
    import ember   # the package namespace (imported late: ember imports ember.jit)
    return ember


def _F():
    from ..nn import functional
    return functional


def scalar_type(v):
    """A dtype argument: None, an ember dtype, or ATen's ScalarType number."""
    if v is None or isinstance(v, _dtype.dtype):
        return v
    if isinstance(v, int) and not isinstance(v, bool) and v in _SCALAR_TYPES:
        return getattr(_ember(), _SCALAR_TYPES[v])
    raise NotImplementedError(f"TorchScript dtype {v!r} has no ember dtype")


def memory_format(v):
    if v is None or not isinstance(v, int):
        return v
    return getattr(_ember(), _MEMORY_FORMATS[v])


def _device(v):
    if v is None or not isinstance(v, str):
        return v
    return _ember().device(v)


def _fix_kwargs(kwargs):
    """Keyword arguments as ember takes them: enum numbers made objects, pin_memory and
    layout (always strided here) dropped when unset."""
    out = dict(kwargs)
    if "dtype" in out:
        out["dtype"] = scalar_type(out["dtype"])
    if "memory_format" in out:
        out["memory_format"] = memory_format(out["memory_format"])
    if "device" in out:
        out["device"] = _device(out["device"])
    if out.get("layout", 0) in (0, None):
        out.pop("layout", None)
    if out.get("pin_memory") in (None, False):
        out.pop("pin_memory", None)
    return out


def _has_tensor(args):
    return any(isinstance(a, Tensor) for a in args)


# ------------------------------------------------------------------ numbers or tensors

def _dual(tensor_name, python_op):
    """An op that is ember's `tensor_name` when a Tensor is among its operands, else
    `python_op` on the numbers, lists or strings."""
    def op(*args, **kwargs):
        if _has_tensor(args):
            return getattr(_ember(), tensor_name)(*args, **_fix_kwargs(kwargs))
        return python_op(*args)
    op.__name__ = tensor_name
    return op


def _py_div(a, b):
    return a / b   # TorchScript's int / int is a float, as Python's


def _py_floordiv(a, b):
    return a // b


def _py_round(a, ndigits=None):
    return builtins.round(a) if ndigits is None else builtins.round(a, ndigits)


def _minmax(tensor_name, py):
    def op(*args, **kwargs):
        if _has_tensor(args):
            return getattr(_ember(), tensor_name)(*args, **kwargs)
        if len(args) == 1:
            return py(args[0])
        return py(args[0], args[1])
    return op


# ------------------------------------------------------------------ lists, dicts, strings

def _len(x):
    if isinstance(x, Tensor):
        if x.dim() == 0:
            raise RuntimeError("len() of a 0-d tensor")
        return x.shape[0]
    return len(x)


def _list(x):
    if isinstance(x, Tensor):
        return x.tolist()
    return list(x)


def _append(lst, x):
    lst.append(x)
    return lst


def _set_item(container, key, value):
    container[key] = value
    return container


def _insert(lst, i, x):
    lst.insert(i, x)


def _pop(container, *args):
    return container.pop(*args)


def _extend(lst, other):
    lst.extend(other)


def _contains(container, x):
    return x in container


def _get(d, key, default=None):
    return d.get(key, default)


def _format(fmt, *args):
    """TorchScript's str.format: each ``{}`` takes the next argument, printed as str().
    Only empty fields exist in TorchScript; nothing is looked up on the arguments."""
    out, i, k = [], 0, 0
    while i < len(fmt):
        if fmt.startswith("{}", i):
            out.append(_str(args[k]) if k < len(args) else "{}")
            k += 1
            i += 2
        else:
            out.append(fmt[i])
            i += 1
    return "".join(out)


def _str(x):
    if isinstance(x, (list, tuple)):
        inner = ", ".join(_str(v) for v in x)
        return f"[{inner}]" if isinstance(x, list) else f"({inner}{',' if len(x) == 1 else ''})"
    return str(x)


def _range_length(lo, hi, step):
    if step == 0:
        raise RuntimeError("range() arg 3 must not be zero")
    return max(0, (hi - lo + step - (1 if step > 0 else -1)) // step)


def _derive_index(index, start, step):
    return start + index * step


# str methods TorchScript code calls as torch.<name>(s, ...): run on str objects only
_STR_METHODS = frozenset("""
upper lower strip lstrip rstrip startswith endswith replace find rfind count isdigit isalpha
isalnum isspace islower isupper capitalize title swapcase zfill center ljust rjust
""".split())


def _str_method(name):
    def op(s, *args):
        if not isinstance(s, str):
            raise NotImplementedError(f"TorchScript op torch.{name} on a {type(s).__name__}")
        return getattr(s, name)(*args)
    return op


def _join(sep, items):
    return sep.join(items)


def _split(x, *args, **kwargs):
    """aten::split of a tensor, or str.split."""
    if isinstance(x, str):
        return x.split(*args)
    return _ember().split(x, *args, **kwargs)


def _warn(msg, stacklevel=2):
    warnings.warn(msg, UserWarning, stacklevel=2)


# ------------------------------------------------------------------ tensor ops with ATen's order

def _size(x, dim=None):
    if dim is None:
        return list(x.shape)
    return x.size(dim)


def _slice(x, *args, **kwargs):
    """aten::slice: x[start:end:step] along `dim` (a view); of a list or a string
    (aten::slice.t / slice.str) the arguments are (start, end, step), no dim."""
    names = ("dim", "start", "end", "step") if isinstance(x, Tensor) else \
        ("start", "end", "step")
    given = dict(zip(names, args), **kwargs)
    start, end, step = given.get("start"), given.get("end"), given.get("step", 1)
    if not isinstance(x, Tensor):
        return x[start:end:(1 if step is None else step)]
    dim = given.get("dim", 0)
    index = [builtins.slice(None)] * x.dim()
    index[dim] = builtins.slice(start, end, step)
    return x[tuple(index)]


def _select(x, dim, index):
    if not isinstance(x, Tensor):
        return x[index]
    return _ember().select(x, dim, index)


def _to(x, *args, **kwargs):
    """aten::to's overloads: (dtype, ...), (device, dtype, ...), (other tensor, ...)."""
    kw = _fix_kwargs(kwargs)
    args = list(args)
    device = dtype = None
    if args and isinstance(args[0], Tensor):
        other = args.pop(0)
        device, dtype = other.device, other.dtype
    elif args and (args[0] is None or isinstance(args[0], str) or
                   type(args[0]).__name__ == "device"):
        # to.device(self, Device? device, ScalarType? dtype, ...): only its device may be None
        device = _device(args.pop(0))
        dtype = scalar_type(args.pop(0)) if args else None
    elif args and isinstance(args[0], (int, _dtype.dtype)) and not isinstance(args[0], bool):
        dtype = scalar_type(args.pop(0))
    non_blocking = args.pop(0) if args else kw.pop("non_blocking", False)
    copy = args.pop(0) if args else kw.pop("copy", False)
    mf = memory_format(args.pop(0)) if args else kw.pop("memory_format", None)
    device = kw.pop("device", device)
    dtype = kw.pop("dtype", dtype)
    out = x.to(device=device, dtype=dtype, non_blocking=bool(non_blocking), copy=bool(copy))
    if mf is not None and mf is not _ember().preserve_format:
        out = out.contiguous(memory_format=mf)
    return out


def _convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
                 groups, *flags):
    """aten::_convolution: the first nine arguments of aten::convolution; the backend
    flags (benchmark, deterministic, cudnn_enabled, allow_tf32) change nothing here."""
    return _ember().convolution(input, weight, bias, stride, padding, dilation, transposed,
                                output_padding, groups)


def _layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):
    return _F().layer_norm(input, normalized_shape, weight, bias, eps)


def _group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    return _F().group_norm(input, num_groups, weight, bias, eps)


def _dropout_(input, p, train):
    return _F().dropout(input, p, train, inplace=True)


def _max_pool_with_indices(n):
    def op(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
        fn = getattr(_F(), f"max_pool{n}d")
        return fn(input, kernel_size, stride or None, padding, dilation, ceil_mode, True)
    return op


def _max_pool(n):
    def op(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
        fn = getattr(_F(), f"max_pool{n}d")
        return fn(input, kernel_size, stride or None, padding, dilation, ceil_mode)
    return op


def _avg_pool(n):
    def op(input, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True,
           divisor_override=None):
        fn = getattr(_F(), f"avg_pool{n}d")
        if n == 1:
            return fn(input, kernel_size, stride or None, padding, ceil_mode, count_include_pad)
        return fn(input, kernel_size, stride or None, padding, ceil_mode, count_include_pad,
                  divisor_override)
    return op


def _adaptive_max_pool(n):
    def op(input, output_size):
        return getattr(_F(), f"adaptive_max_pool{n}d")(input, output_size, True)
    return op


def _upsample(mode, n, antialias=False):
    """aten::upsample_<mode><n>d(input, output_size, [align_corners,] scale_factors) and
    the older (input, output_size, [align_corners,] scales...) overloads; the _aa ops
    (antialias) take the same arguments."""
    def op(input, output_size=None, *args):
        align = None
        if not mode.startswith("nearest") and args and isinstance(args[0], bool):
            align, args = args[0], args[1:]
        scales = None
        if args and isinstance(args[0], (list, tuple)):
            scales = list(args[0])
        elif args and all(a is not None for a in args):
            scales = list(args)
        if output_size is not None and len(output_size) == 0:
            output_size = None
        if output_size is not None:
            scales = None
        return _F().interpolate(input, size=output_size, scale_factor=scales, mode=mode,
                                align_corners=align, antialias=antialias)
    return op


def _fractional_max_pool(n):
    """aten::fractional_max_pool{n}d(input, kernel_size, output_size, random_samples):
    (output, indices)."""
    def op(input, kernel_size, output_size, random_samples):
        fn = getattr(_F(), f"fractional_max_pool{n}d")
        return fn(input, kernel_size, output_size=output_size, return_indices=True,
                  _random_samples=random_samples)
    return op


def _max_unpool(n):
    """aten::max_unpool2d(input, indices, output_size) / max_unpool3d(..., stride,
    padding): each value put at its flat index in a zero plane of output_size."""
    def op(input, indices, output_size, *ignored):
        e = _ember()
        unbatched = input.dim() == n + 1
        if unbatched:
            input, indices = input.unsqueeze(0), indices.unsqueeze(0)
        N, C = input.shape[:2]
        plane = math.prod(output_size)
        out = e.zeros(N, C, plane, dtype=input.dtype, device=input.device)
        out = out.scatter(2, indices.reshape(N, C, -1), input.reshape(N, C, -1))
        out = out.reshape(N, C, *output_size)
        return out.squeeze(0) if unbatched else out
    return op


def _col2im(input, output_size, kernel_size, dilation, padding, stride):
    return _F().fold(input, output_size, kernel_size, dilation, padding, stride)


def _im2col(input, kernel_size, dilation, padding, stride):
    return _F().unfold(input, kernel_size, dilation, padding, stride)


def _tensor(data, dtype=None, device=None, requires_grad=False):
    return _ember().tensor(data, dtype=scalar_type(dtype), device=_device(device),
                           requires_grad=requires_grad)


def _index_tuple(indices):
    """aten::index's list of optional index tensors as a Python subscript (None: all)."""
    return tuple(builtins.slice(None) if i is None else i for i in indices)


def _index(x, indices):
    """aten::index of a tensor; list.index of a list (TorchScript writes both
    torch.index)."""
    if isinstance(x, (list, str)):
        return x.index(indices)
    return x[_index_tuple(indices)]


def _sort(x, *args, **kwargs):
    """aten::sort of a tensor; list.sort (in place, `reverse` the second argument) of a
    list."""
    if isinstance(x, list):
        reverse = args[0] if args else kwargs.get("reverse", False)
        x.sort(reverse=bool(reverse))
        return None
    return _ember().sort(x, *args, **_fix_kwargs(kwargs))


def _dict_method(name):
    """aten::update / setdefault / popitem of a dict (update returns None, as Python's)."""
    def op(d, *args):
        if not isinstance(d, dict):
            raise NotImplementedError(f"TorchScript op torch.{name} on a {type(d).__name__}")
        return getattr(d, name)(*args)
    op.__name__ = name
    return op


def _list_method(name):
    def op(x, *args):
        if not isinstance(x, (list, dict)) or isinstance(x, dict) and name != "clear":
            raise NotImplementedError(f"TorchScript op torch.{name} on a {type(x).__name__}")
        return getattr(x, name)(*args)
    op.__name__ = name
    return op


def _count(x, *args):
    """str.count or list.count."""
    if not isinstance(x, (str, list)):
        raise NotImplementedError(f"TorchScript op torch.count on a {type(x).__name__}")
    return x.count(*args)


def _set_grad_enabled(mode):
    """aten::set_grad_enabled: grad mode set at once, as the no_grad class of an archive's
    code does in __enter__/__exit__."""
    from ..autograd import grad_mode
    grad_mode.set_grad_enabled(bool(mode))


def _index_put(inplace):
    def op(x, indices, values, accumulate=False):
        target = x if inplace else x.clone()
        if accumulate:
            return _ember().index_put_(target, _index_tuple(indices), values, True)
        target[_index_tuple(indices)] = values
        return target
    return op


def _copy_(dst, src, non_blocking=False):
    return dst.copy_(src)


def _copy(x, src=None, non_blocking=False):
    """aten::copy: of a list or dict, a shallow copy (``list(xs)`` in scripted code); of a
    tensor and a source, a new tensor of x's shape and dtype holding src's values."""
    if isinstance(x, list):
        return list(x)
    if isinstance(x, dict):
        return dict(x)
    return x.clone().copy_(src)


def _weight_norm(v, g, dim=0):
    """aten::_weight_norm: g v / ||v||, the norm over every dim but `dim` (-1: all)."""
    from ..nn.utils import parametrizations
    return parametrizations._weight_norm(v, g, dim)


def _dict(items=None):
    """aten::dict: an empty dict, or one from a dict or a list of (key, value) pairs."""
    return {} if items is None else dict(items)


def _contiguous(x, memory_format=0):
    return x.contiguous(memory_format=globals()["memory_format"](memory_format))


def _softmax_like(name):
    def op(x, dim, dtype=None, **kwargs):
        return getattr(_ember(), name)(x, dim, dtype=scalar_type(kwargs.get("dtype", dtype)))
    return op


def _reduce(name):
    """sum/mean: (x, dtype=) or (x, dims, keepdim, dtype=) (dims may be None or [])."""
    def op(x, *args, **kwargs):
        if isinstance(x, list) and not args and not kwargs:
            return builtins.sum(x) if name == "sum" else builtins.sum(x) / len(x)
        kw = _fix_kwargs(kwargs)
        fn = getattr(_ember(), name)
        if not args:
            return fn(x, **kw)
        dims = args[0]
        keepdim = args[1] if len(args) > 1 else kw.pop("keepdim", False)
        if len(args) > 2:
            kw["dtype"] = scalar_type(args[2])
        if dims is None or (isinstance(dims, list) and not dims):
            return fn(x, **kw) if not keepdim else fn(x, tuple(range(x.dim())), True, **kw)
        return fn(x, dims, keepdim, **kw)
    return op


def _einsum(equation, tensors, path=None):
    return _ember().einsum(equation, *tensors)


def _expand(x, size, implicit=False):
    return x.expand(*size)


def _item_type(kind):
    def op(x):
        if isinstance(x, Tensor):
            return kind(x.item())
        return kind(x)
    return op


def _num_to_tensor(n):
    return _ember().tensor(n)


_SCALAR_TYPE_OF = {name: code for code, name in _SCALAR_TYPES.items()}


def _prim_dtype(x):
    """prim::dtype: the tensor's ScalarType number, as TorchScript code compares dtypes
    with ints (``torch.ne(ops.prim.dtype(mask), 11)``: not bool)."""
    name = str(x.dtype).rpartition(".")[2]
    if name not in _SCALAR_TYPE_OF:
        raise NotImplementedError(f"TorchScript has no ScalarType number for {x.dtype}")
    return _SCALAR_TYPE_OF[name]


def _unwrap(x):
    if x is None:
        raise Error("Unwrapping null optional")
    return x


_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}   # ATen's Reduction enum


def _loss(name, *extra):
    """aten::<loss>(self, target, [weight,] reduction: int, ...extra) -> F.<name> with
    keyword arguments (F takes reduction as a string)."""
    def op(input, target, *args):
        F = _F()
        kwargs = {}
        if name in ("binary_cross_entropy", "cross_entropy", "nll_loss"):
            kwargs["weight"], args = (args[0] if args else None), args[1:]
        kwargs["reduction"] = _REDUCTIONS[args[0] if args else 1]
        kwargs.update(zip(extra, args[1:]))
        return getattr(F, name)(input, target, **kwargs)
    op.__name__ = name
    return op


def _unique_consecutive(x, return_inverse=False, return_counts=False, dim=None):
    """aten::unique_consecutive: always (output, inverse_indices, counts), as ATen."""
    return tuple(_ember().unique_consecutive(x, return_inverse=True, return_counts=True,
                                             dim=dim))


def _unique2(x, sorted=True, return_inverse=False, return_counts=False):
    """aten::_unique2: always (output, inverse_indices, counts)."""
    return tuple(_ember().unique(x, sorted=sorted, return_inverse=True, return_counts=True))


def _tensor_list(name):
    """aten::<name>(Tensor[] tensors, ...): ember's Python function takes them unpacked."""
    def op(tensors, **kwargs):
        return getattr(_ember(), name)(*tensors, **kwargs)
    op.__name__ = name
    return op


def _tensordot(a, b, dims_a, dims_b):
    return _ember().tensordot(a, b, dims=(list(dims_a), list(dims_b)))


def _any_all(name, py):
    def op(x, *args, **kwargs):
        if isinstance(x, Tensor):
            return getattr(_ember(), name)(x, *args, **kwargs)
        return py(x)   # a list of bools
    return op


def _vector_norm(x, ord=2, dim=None, keepdim=False, dtype=None):
    return _ember().linalg.vector_norm(x, ord, dim, keepdim, dtype=scalar_type(dtype))


def _pack_padded_sequence(input, lengths, batch_first):
    """aten::_pack_padded_sequence: (data, batch_sizes) of sequences sorted by decreasing
    length (ember's pack_padded_sequence raises for unsorted lengths, as ATen's)."""
    from ..nn.utils.rnn import pack_padded_sequence
    packed = pack_padded_sequence(input, lengths, batch_first, enforce_sorted=True)
    return packed.data, packed.batch_sizes


def _pad_packed_sequence(data, batch_sizes, batch_first, padding_value, total_length):
    """aten::_pad_packed_sequence: (padded, lengths) of a packed batch in sorted order,
    padded to total_length steps."""
    from ..nn.utils.rnn import PackedSequence, pad_packed_sequence
    return pad_packed_sequence(PackedSequence(data, batch_sizes), batch_first,
                               float(padding_value), int(total_length))


def _is_floating_point(x):
    return x.is_floating_point()


# ------------------------------------------------------------------ the tables

# torch.NAME(...) -> ember.NAME(...): same name, same positional order as ATen's schema
_SAME_FUNCTIONS = """
abs acos addmm addmv addbmm allclose arange argmax argmin argsort asin atan atan2
baddbmm batch_norm bernoulli bmm broadcast_tensors bucketize cat ceil chunk clamp clamp_max
clamp_min clone constant_pad_nd convolution conv1d conv2d conv3d cos cosh cross cumprod cumsum
detach diag diagonal dist dot dropout embedding empty empty_like erf exp expm1 eye
feature_dropout alpha_dropout flatten flip floor fmod frac full full_like gather gru
index_select instance_norm isfinite isinf isnan kthvalue lerp log log10 log1p log2 log_sigmoid
logical_and logical_not logical_or logical_xor logsumexp lstm masked_fill masked_select matmul
max_pool1d maximum median minimum mm movedim mv narrow nonzero norm numel ones ones_like outer
permute pixel_shuffle pixel_unshuffle prod rand rand_like randint randn randn_like reciprocal
relu relu_ remainder repeat_interleave reshape roll rot90 rnn_tanh rnn_relu round rsqrt rsub
scatter scatter_add select_scatter sigmoid sign sin sinh slice_scatter sort split sqrt square
squeeze stack std t tan tanh tensor_split tile topk trace transpose tril triu true_divide
trunc unbind unique_consecutive unsqueeze var where zeros zeros_like conv_transpose1d
conv_transpose2d conv_transpose3d cosine_similarity pairwise_distance cdist embedding_bag
group_norm hardshrink prelu threshold pdist split_with_sizes unflatten var_mean std_mean
channel_shuffle native_channel_shuffle rrelu_
nextafter pinverse slogdet erfc i0 narrow_copy hsplit vsplit dsplit vstack hstack dstack
column_stack row_stack atleast_1d atleast_2d atleast_3d empty_strided addr flipud fliplr
msort argwhere sgn positive mvlgamma polygamma igamma igammac cholesky_solve cholesky cov
corrcoef combinations result_type is_complex feature_alpha_dropout rms_norm conv_tbc
grid_sampler affine_grid_generator swapdims swapaxes absolute negative clip gcd lcm
trapezoid fix ravel resolve_conj resolve_neg embedding_renorm_
addcmul addcdiv logit xlogy hypot heaviside is_grad_enabled kl_div
binary_cross_entropy_with_logits linspace logspace scalar_tensor randperm normal multinomial
searchsorted histc bincount count_nonzero diff kron cartesian_prod meshgrid block_diag cummax
cummin amax amin aminmax nan_to_num nansum nanmean sinc erfinv digamma lgamma exp2 asinh acosh
atanh deg2rad rad2deg frexp ldexp logaddexp logcumsumexp mode nanmedian quantile renorm
signbit copysign float_power fmax fmin isclose isneginf isposinf isreal logdet matrix_exp
inner vdot tensordot take take_along_dim index_add index_copy index_fill masked_scatter
scatter_reduce diag_embed diagflat vander tril_indices triu_indices unique
view_as_real view_as_complex real imag conj angle polar complex
 is_autocast_enabled
is_autocast_cpu_enabled
det inverse matrix_power logaddexp2 qr svd triangular_solve moveaxis divide multiply subtract
greater greater_equal less less_equal not_equal equal arccos arccosh arcsin arcsinh arctan
arctan2 arctanh conj_physical histogram
""".split()

# torch.NAME(tensor, ...) -> tensor.NAME(...): Tensor methods without a torch-level function
_SAME_METHODS = """
cpu stride element_size storage_offset is_contiguous exponential_ geometric_ cauchy_
log_normal_ random_ add_ sub_ mul_ div_ relu_ sigmoid_ tanh_ clamp_ clamp_min_ clamp_max_
fill_ zero_ masked_fill_
view view_as reshape_as expand_as type_as repeat unfold copy_ index_put_ index_fill_
scatter_ scatter_add_ uniform_ normal_ exp_ log_ neg_ abs_ sqrt_ pow_ floor_ unsqueeze_
squeeze_ t_ transpose_ detach_ requires_grad_ item tolist new_zeros new_ones new_full
new_empty new_tensor masked_scatter_ index_add_ index_copy_ cumsum_ lerp_ addcmul_ addcdiv_
fill_diagonal_ sum_to_size is_same_size is_signed get_device is_conj is_neg is_inference
resize_as unsafe_chunk unsafe_split put put_
""".split()

# torch.NAME(...) -> ember.nn.functional.NAME(...): same order as ATen's schema
_FUNCTIONAL = """
linear bilinear gelu silu mish hardswish hardsigmoid hardtanh leaky_relu elu selu celu
softplus softsign softshrink tanhshrink glu logsigmoid adaptive_avg_pool1d adaptive_avg_pool2d
adaptive_avg_pool3d scaled_dot_product_attention pad one_hot rrelu
""".split()

_FUNCTIONAL_INPLACE = {"hardtanh_": "hardtanh", "leaky_relu_": "leaky_relu", "elu_": "elu",
                       "silu_": "silu", "hardswish_": "hardswish", "gelu_": "gelu",
                       "hardsigmoid_": "hardsigmoid", "mish_": "mish", "celu_": "celu",
                       "selu_": "selu", "threshold_": "threshold"}

_OPERATOR_OPS = {
    "add": ("add", operator.add), "sub": ("sub", operator.sub), "mul": ("mul", operator.mul),
    "div": ("div", _py_div), "floordiv": ("floor_divide", _py_floordiv),
    "floor_divide": ("floor_divide", _py_floordiv), "remainder": ("remainder", operator.mod),
    "pow": ("pow", operator.pow), "neg": ("neg", operator.neg), "eq": ("eq", operator.eq),
    "ne": ("ne", operator.ne), "lt": ("lt", operator.lt), "le": ("le", operator.le),
    "gt": ("gt", operator.gt), "ge": ("ge", operator.ge), "abs": ("abs", builtins.abs),
    "__and__": ("bitwise_and", operator.and_), "__or__": ("bitwise_or", operator.or_),
    "__xor__": ("bitwise_xor", operator.xor), "bitwise_not": ("bitwise_not", operator.invert),
    "__lshift__": ("bitwise_left_shift", operator.lshift),
    "__rshift__": ("bitwise_right_shift", operator.rshift),
    "floor": ("floor", math.floor), "ceil": ("ceil", math.ceil), "sqrt": ("sqrt", math.sqrt),
    "exp": ("exp", math.exp), "log": ("log", math.log), "sin": ("sin", math.sin),
    "cos": ("cos", math.cos), "tanh": ("tanh", math.tanh), "round": ("round", _py_round),
}

_SPECIAL = {
    # ATen names whose ember function is named otherwise
    "log_sigmoid": lambda x: _F().logsigmoid(x),
    "lstm_cell": lambda *a: _ember().lstm_cell(*a), "gru_cell": lambda *a: _ember().gru_cell(*a),
    "rnn_tanh_cell": lambda *a: _ember().rnn_tanh_cell(*a),
    "rnn_relu_cell": lambda *a: _ember().rnn_relu_cell(*a),
    # numbers, lists, dicts and strings
    "len": _len, "list": _list, "append": _append, "_set_item": _set_item, "insert": _insert,
    "pop": _pop, "extend": _extend, "__contains__": _contains, "get": _get,
    "keys": lambda d: list(d.keys()), "values": lambda d: list(d.values()),
    "items": lambda d: list(d.items()), "format": _format, "str": _str,
    "__is__": operator.is_, "__isnot__": operator.is_not, "__not__": operator.not_,
    "__range_length": _range_length, "__derive_index": _derive_index, "warn": _warn,
    "max": _minmax("max", builtins.max), "min": _minmax("min", builtins.min),
    "device": _device, "Float": _item_type(float), "Int": _item_type(int),
    "Bool": _item_type(bool), "ScalarImplicit": _item_type(lambda v: v),
    "dim": lambda x: x.dim(), "size": _size, "slice": _slice, "select": _select,
    "__getitem__": lambda c, i: c[i],
    # tensors, where ATen's order or enums differ from ember's Python functions
    "to": _to, "_convolution": _convolution, "layer_norm": _layer_norm,
    "group_norm": _group_norm, "dropout_": _dropout_, "feature_dropout_": _dropout_,
    "tensor": _tensor, "copy_": _copy_, "copy": _copy,
    "_weight_norm": _weight_norm, "dict": _dict, "update": _dict_method("update"), "setdefault": _dict_method("setdefault"),
    "popitem": _dict_method("popitem"), "contiguous": _contiguous,
    "_pack_padded_sequence": _pack_padded_sequence,
    "_pad_packed_sequence": _pad_packed_sequence,
    "softmax": _softmax_like("softmax"), "log_softmax": _softmax_like("log_softmax"),
    "sum": _reduce("sum"), "mean": _reduce("mean"), "einsum": _einsum, "expand": _expand,
    "max_pool2d": _max_pool(2), "max_pool3d": _max_pool(3), "max_pool1d": _max_pool(1),
    "max_pool1d_with_indices": _max_pool_with_indices(1),
    "max_pool2d_with_indices": _max_pool_with_indices(2),
    "max_pool3d_with_indices": _max_pool_with_indices(3),
    "avg_pool1d": _avg_pool(1), "avg_pool2d": _avg_pool(2), "avg_pool3d": _avg_pool(3),
    "adaptive_max_pool1d": _adaptive_max_pool(1), "adaptive_max_pool2d": _adaptive_max_pool(2),
    "adaptive_max_pool3d": _adaptive_max_pool(3),
    "upsample_nearest1d": _upsample("nearest", 1), "upsample_nearest2d": _upsample("nearest", 2),
    "upsample_bilinear2d": _upsample("bilinear", 2), "upsample_linear1d": _upsample("linear", 1),
    "upsample_bicubic2d": _upsample("bicubic", 2),
    "_upsample_bilinear2d_aa": _upsample("bilinear", 2, True),
    "_upsample_bicubic2d_aa": _upsample("bicubic", 2, True),
    "upsample_nearest3d": _upsample("nearest", 3),
    "upsample_trilinear3d": _upsample("trilinear", 3),
    "_upsample_nearest_exact1d": _upsample("nearest-exact", 1),
    "_upsample_nearest_exact2d": _upsample("nearest-exact", 2),
    "_upsample_nearest_exact3d": _upsample("nearest-exact", 3),
    "is_floating_point": _is_floating_point, "index": _index, "join": _join, "split": _split,
    "wait": lambda future: future.wait(),
    "sort": _sort, "reverse": _list_method("reverse"), "remove": _list_method("remove"),
    "clear": _list_method("clear"), "count": _count, "set_grad_enabled": _set_grad_enabled,
    "index_put_": _index_put(True), "index_put": _index_put(False),
    "any": _any_all("any", builtins.any), "all": _any_all("all", builtins.all),
    "linalg_vector_norm": _vector_norm, "unique_consecutive": _unique_consecutive,
    "_unique2": _unique2, "broadcast_tensors": _tensor_list("broadcast_tensors"),
    "block_diag": _tensor_list("block_diag"), "cartesian_prod": _tensor_list("cartesian_prod"),
    "meshgrid": _tensor_list("meshgrid"), "tensordot": _tensordot,
    "numpy_T": lambda x: x.T, "mT": lambda x: x.mT,
    "mH": lambda x: x.mH, "adjoint": lambda x: x.adjoint(),
    "mse_loss": _loss("mse_loss"), "l1_loss": _loss("l1_loss"),
    "smooth_l1_loss": _loss("smooth_l1_loss", "beta"),
    "huber_loss": _loss("huber_loss", "delta"),
    "binary_cross_entropy": _loss("binary_cross_entropy"),
    "cross_entropy_loss": _loss("cross_entropy", "ignore_index", "label_smoothing"),
    "nll_loss": _loss("nll_loss", "ignore_index"), "nll_loss_nd": _loss("nll_loss", "ignore_index"),
    "nll_loss2d": _loss("nll_loss", "ignore_index"),
    "fractional_max_pool2d": _fractional_max_pool(2),
    "fractional_max_pool3d": _fractional_max_pool(3),
    "col2im": _col2im, "im2col": _im2col,
    "max_unpool2d": _max_unpool(2), "max_unpool3d": _max_unpool(3),
    "_native_multi_head_attention": _ops_fused.native_multi_head_attention,
    "_transformer_encoder_layer_fwd": _ops_fused.transformer_encoder_layer_fwd,
    "_nested_tensor_from_mask": _ops_fused.nested_from_mask,
    "_nested_tensor_from_mask_left_aligned": _ops_fused.nested_left_aligned,
    "to_padded_tensor": _ops_fused.to_padded_tensor,
}

_PRIM = {
    "NumToTensor": _num_to_tensor, "dtype": _prim_dtype, "device": lambda x: x.device,
    "RaiseException": raise_exception, "unchecked_unwrap_optional": _unwrap,
    "min": _minmax("min", builtins.min), "max": _minmax("max", builtins.max),
    "data": lambda x: x.detach(), "is_cuda": lambda x: x.is_cuda,
    "requires_grad": lambda x: x.requires_grad, "layout": lambda x: 0,
    "shape": lambda x: list(x.shape), "grad": lambda x: x.grad,
    "is_nested": lambda x: bool(getattr(x, "is_nested", False)), "is_sparse": lambda x: False,
    "is_quantized": lambda x: False, "is_meta": lambda x: False,
    "type": lambda device: device.type,
    "abs": _OPERATOR_OPS["abs"][1], "TupleIndex": lambda t, i: t[i],
    "unchecked_cast": lambda x: x,
}


def _functional(name):
    def op(*args, **kwargs):
        return getattr(_F(), name)(*args, **_fix_kwargs(kwargs))
    op.__name__ = name
    return op


def _functional_inplace(name):
    def op(*args, **kwargs):
        return getattr(_F(), name)(*args, inplace=True, **_fix_kwargs(kwargs))
    op.__name__ = name + "_"
    return op


def _method(name):
    def op(x, *args, **kwargs):
        if not isinstance(x, Tensor):
            raise NotImplementedError(f"TorchScript op torch.{name} on {type(x).__name__} "
                                      f"(ember runs it on tensors only)")
        return getattr(x, name)(*args, **_fix_kwargs(kwargs))
    op.__name__ = name
    return op


def _function(name):
    def op(*args, **kwargs):
        return getattr(_ember(), name)(*args, **_fix_kwargs(kwargs))
    op.__name__ = name
    return op


def _namespaced(space, name):
    def op(*args, **kwargs):
        return getattr(getattr(_ember(), space), name)(*args, **_fix_kwargs(kwargs))
    op.__name__ = f"{space}_{name}"
    return op


# aten::<loss>(...) whose arguments are F.<loss>'s in ATen's order, `reduction` among them
# as ATen's Reduction number: (F's name, ATen's parameter names)
_LOSSES_MORE = {
    "triplet_margin_loss": ("triplet_margin_loss", ("anchor", "positive", "negative", "margin",
                                                    "p", "eps", "swap", "reduction")),
    "margin_ranking_loss": ("margin_ranking_loss", ("input1", "input2", "target", "margin",
                                                    "reduction")),
    "cosine_embedding_loss": ("cosine_embedding_loss", ("input1", "input2", "target",
                                                        "margin", "reduction")),
    "hinge_embedding_loss": ("hinge_embedding_loss", ("input", "target", "margin",
                                                      "reduction")),
    "poisson_nll_loss": ("poisson_nll_loss", ("input", "target", "log_input", "full", "eps",
                                              "reduction")),
    "soft_margin_loss": ("soft_margin_loss", ("input", "target", "reduction")),
    "multi_margin_loss": ("multi_margin_loss", ("input", "target", "p", "margin", "weight",
                                                "reduction")),
    "multilabel_margin_loss": ("multilabel_margin_loss", ("input", "target", "reduction")),
    "ctc_loss": ("ctc_loss", ("log_probs", "targets", "input_lengths", "target_lengths",
                              "blank", "reduction", "zero_infinity")),
}


def _loss_more(name, entry):
    fname, params = entry

    def op(*args, **kwargs):
        values = dict(zip(params, args), **kwargs)
        if "reduction" in values:
            values["reduction"] = _REDUCTIONS[values["reduction"]]
        return getattr(_F(), fname)(**values)
    op.__name__ = name
    return op



def lookup(namespace, name):
    """The ember callable for TorchScript's ``torch.<name>`` / ``ops.aten.<name>``
    (namespace "aten") or ``ops.prim.<name>`` (namespace "prim")."""
    if namespace == "prim":
        fn = _PRIM.get(name)
        if fn is None:
            raise NotImplementedError(f"TorchScript op ops.prim.{name} is not supported by "
                                      f"ember.jit")
        return fn
    if namespace != "aten":
        raise NotImplementedError(f"TorchScript op ops.{namespace}.{name} is not supported by "
                                  f"ember.jit")
    if name in _SPECIAL:
        return _SPECIAL[name]
    if name in _STR_METHODS:
        return _str_method(name)
    if name in _OPERATOR_OPS:
        tensor_name, py = _OPERATOR_OPS[name]
        return _dual(tensor_name, py)
    if name in _FUNCTIONAL_INPLACE:
        return _functional_inplace(_FUNCTIONAL_INPLACE[name])
    if name in _FUNCTIONAL_SET:
        return _functional(name)
    if name in _METHOD_SET:
        return _method(name)
    if name in _FUNCTION_SET and hasattr(_ember(), name):
        return _function(name)
    for prefix, space in (("linalg_", "linalg"), ("fft_", "fft"), ("special_", "special")):
        # aten::linalg_<name>, fft_<name>, special_<name>: torch.<space>.<name>, same order
        if name.startswith(prefix) and \
                callable(getattr(getattr(_ember(), space), name[len(prefix):], None)):
            return _namespaced(space, name[len(prefix):])
    if name in _LOSSES_MORE:
        return _loss_more(name, _LOSSES_MORE[name])
    if name.endswith("_") and name[:-1] in _FUNCTION_SET | _OPERATOR_OPS.keys():
        return _method(name)   # the in-place spelling of a table op (relu_ -> Tensor.relu_)
    raise NotImplementedError(f"TorchScript op torch.{name} (aten::{name}) is not supported "
                              f"by ember.jit")


_FUNCTION_SET = frozenset(_SAME_FUNCTIONS)
_METHOD_SET = frozenset(_SAME_METHODS)
_FUNCTIONAL_SET = frozenset(_FUNCTIONAL)
