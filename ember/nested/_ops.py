"""The ops on nested tensors: what ember's functions and Tensor methods do when handed one.

NestedTensor's __torch_function__ sends every call with a nested argument here (`dispatch`).
Most ops are ops on the packed values (see _nested_tensor.py for the layout):

* pointwise ops (unary, and binary with a nested tensor of the same offsets, a scalar, or a
  dense tensor that broadcasts against the trailing dims, or one of shape (B, 1, ...) that
  holds one row per component), activations, dropout: the same op on the values;
* linear / matmul with a dense weight, layer_norm / rms_norm and softmax over the trailing
  dims, sum / mean over the dims after the ragged one, transpose / unflatten / flatten /
  view / reshape / unsqueeze / squeeze / chunk / split / cat on those dims: the op on the
  values at the dimension one lower (the values have no batch dimension);
* ops that mix the rows of a component (softmax or a reduction over the ragged dimension,
  scaled_dot_product_attention in _attention.py) run on the padded dense form (_padded.py):
  pad, run the dense op with the padding masked out, gather the rows back;
* strided nested tensors ragged in several dims run component by component
  (_components.py).

Everything else raises PyTorch's error for an op without a nested kernel: NotImplementedError
``aten.<op>.default`` (jagged layout) or "Could not run 'aten::<op>' with arguments from the
'NestedTensorCPU' backend" (strided layout).
"""
import numpy as np

from .._tensor import Tensor, Size
from ._nested_tensor import make_nested, nested_int
from ._components import per_component
from ._padded import _ember, _F, _is_nt, _rows, _index, to_padded, from_padded
from ._attention import _sdpa


def _first_nt(args, kwargs):
    for a in list(args) + list(kwargs.values()):
        if _is_nt(a):
            return a
        if isinstance(a, (list, tuple)):
            for b in a:
                if _is_nt(b):
                    return b
    return None


def _shape_str(t):
    if _is_nt(t):
        return "(" + ", ".join(str(s) for s in t._sizes()) + ")"
    return repr(Size(t.shape))


def unsupported(name, nt):
    """PyTorch's error for an op without a nested-tensor kernel."""
    name = name.strip("_") if name.startswith("__") else name
    if nt is not None and nt._is_strided():
        dev = "CUDA" if nt.is_cuda else "CPU"
        return NotImplementedError(
            f"Could not run 'aten::{name}' with arguments from the 'NestedTensor{dev}' "
            f"backend. This could be because the operator doesn't exist for this backend "
            f"(ember.nested supports the ops listed in ember/nested/_ops.py).")
    return NotImplementedError(f"aten.{name}.default")


# ------------------------------------------------------------------ pointwise
# unary ops (and ops with one tensor argument and scalar options) computed on the values
UNARY = frozenset("""
abs absolute neg negative sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh arcsin
arccos arctan exp exp2 expm1 log log2 log10 log1p sqrt rsqrt square reciprocal sign sgn
floor ceil round trunc frac erf erfc erfinv sigmoid logit relu relu6 gelu silu mish selu celu
elu softplus softsign tanhshrink hardtanh hardsigmoid hardshrink softshrink
leaky_relu threshold rrelu nan_to_num clamp clip clamp_min clamp_max
pow float_power logical_not bitwise_not isnan isinf isfinite isposinf isneginf signbit
positive conj real imag angle lgamma digamma i0 sinc deg2rad rad2deg fix arcsinh arccosh
arctanh
dropout alpha_dropout feature_alpha_dropout
clone contiguous float double half bfloat16 bool int long short byte char type
zeros_like ones_like full_like empty_like rand_like randn_like
abs_ neg_ sin_ cos_ exp_ log_ sqrt_ sigmoid_ tanh_ relu_ clamp_ clip_ fill_ zero_ pow_
normal_ uniform_ bernoulli_ dropout_ leaky_relu_ elu_ celu_ selu_ hardtanh_ threshold_
rrelu_ nan_to_num_ sign_ floor_ ceil_ round_ trunc_ reciprocal_ square_ rsqrt_ erf_
__neg__ __abs__ __invert__ __pos__
""".split())

# binary pointwise ops: every tensor argument is brought to the values' shape
BINARY = frozenset("""
add sub subtract mul multiply div divide true_divide remainder fmod pow
float_power atan2 arctan2 hypot copysign maximum minimum fmax fmin eq ne lt le gt ge
greater greater_equal less less_equal not_equal logical_and logical_or logical_xor
bitwise_and bitwise_or bitwise_xor where masked_fill lerp xlogy isclose type_as rsub mul_ add_ sub_ div_ masked_fill_ copy_ lerp_ clamp_
logaddexp logaddexp2
__rsub__ __rtruediv__ __rdiv__ __mod__ __rmod__ __rpow__
__and__ __or__ __xor__ __rand__ __ror__ __rxor__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__
__iadd__ __isub__ __imul__ __itruediv__ __ipow__
""".split())


def _wrap_result(nt, out, inplace_target=None):
    if inplace_target is not None:
        return inplace_target
    if isinstance(out, Tensor) and not _is_nt(out):
        return nt._like(out)
    if isinstance(out, (tuple, list)):
        return type(out)(_wrap_result(nt, o) for o in out)
    return out


def _is_inplace(name):
    return name.endswith("_") and not name.endswith("__") or name.startswith("__i") and \
        name not in ("__invert__",)


def _unary(func, name, args, kwargs):
    nt = args[0]
    if not _is_nt(nt):
        raise unsupported(name, _first_nt(args, kwargs))
    out = func(nt._values, *args[1:], **kwargs)
    return _wrap_result(nt, out, nt if _is_inplace(name) else None)


def _as_values(ref, x, name):
    """x (a nested tensor like ref, a dense tensor, or a scalar) as an operand of the same
    op on ref's values."""
    if _is_nt(x):
        if x is ref:
            return x._values
        if nested_int(x._offsets) != nested_int(ref._offsets) or \
                x._ragged_idx != ref._ragged_idx or x.dim() != ref.dim():
            raise RuntimeError(f"cannot call binary pointwise function {name}.Tensor with "
                               f"inputs of shapes {_shape_str(ref)} and {_shape_str(x)}")
        return x._values
    if not isinstance(x, Tensor):
        return x
    n, k, r = ref.dim(), x.dim(), ref._ragged_idx
    bad = RuntimeError(f"cannot call binary pointwise function {name}.Tensor with inputs "
                       f"of shapes {Size(ref._sizes())!r} "
                       f"and {_shape_str(x)}")
    if k > n:
        raise bad
    lead = n - k   # x's dims line up with ref's dims lead ... n - 1
    if r >= lead and x.shape[r - lead] != 1:
        raise bad
    if k < n:
        return x
    if x.shape[0] == 1:
        return x.squeeze(0)
    if x.shape[0] != len(ref):
        raise bad
    # one row per component: repeat it over the component's rows
    bids, _, _, _ = _rows(ref)
    per_row = x.index_select(0, _index(bids, x)).squeeze(r)   # (S, rest without ragged)
    if ref._lengths is not None or per_row.shape[0] != ref._values.shape[r - 1]:
        raise bad
    return per_row.movedim(0, r - 1)


def _binary(func, name, args, kwargs):
    ref = _first_nt(args, kwargs)

    def conv(a):
        if isinstance(a, (list, tuple)) and any(isinstance(b, Tensor) for b in a):
            return type(a)(conv(b) for b in a)
        return _as_values(ref, a, name)

    out = func(*[conv(a) for a in args], **{k: conv(v) for k, v in kwargs.items()})
    if _is_inplace(name):
        return args[0]
    return _wrap_result(ref, out)


# ------------------------------------------------------------------ helpers for dims
def _arg(args, kwargs, i, key, default=None):
    if len(args) > i:
        return args[i]
    return kwargs.get(key, default)


def _dims_arg(shape_args):
    if len(shape_args) == 1 and isinstance(shape_args[0], (tuple, list, Size)):
        return tuple(shape_args[0])
    return tuple(shape_args)


# ------------------------------------------------------------------ handlers
def _linear(func, name, args, kwargs):
    x = args[0]
    weight = _arg(args, kwargs, 1, "weight")
    bias = _arg(args, kwargs, 2, "bias")
    if not _is_nt(x) or _is_nt(weight) or _is_nt(bias):
        raise unsupported(name, _first_nt(args, kwargs))
    if x._ragged_idx == x.dim() - 1:
        raise RuntimeError("linear(): not supported for NestedTensor on ragged last dim")
    return x._like(_F().linear(x._values, weight, bias))


def _matmul(func, name, args, kwargs):
    a, b = args[0], args[1]
    if name == "__rmatmul__":
        a, b = b, a
    if _is_nt(a) and not _is_nt(b) and a._ragged_idx < a.dim() - 1:
        if b.dim() == 2 or b.dim() == 1 and a.dim() > 2:
            if b.dim() == 1 and a._ragged_idx == a.dim() - 2:
                raise RuntimeError(f"matmul(): not supported between inputs of shapes "
                                   f"{_shape_str(a)} and {Size(b.shape)!r}")
            return a._like(a._values.matmul(b))
        if b.dim() == 3 and a.dim() == 3 and b.shape[0] == len(a) and a._lengths is None:
            # one matrix per component: each row times its component's matrix
            bids, _, _, _ = _rows(a)
            per_row = b.index_select(0, _index(bids, b))   # (S, D, K)
            return a._like(a._values.unsqueeze(-2).matmul(per_row).squeeze(-2))
    if _is_nt(a) and _is_nt(b) and a._is_strided() and b._is_strided():
        # the strided layout multiplies component by component
        return per_component(func, name, args, kwargs, UNARY, BINARY)
    raise RuntimeError(f"matmul(): not supported between inputs of shapes {_shape_str(a)} "
                       f"and {Size(b._sizes() if _is_nt(b) else b.shape)!r}")


def _transpose(func, name, args, kwargs):
    nt = args[0]
    d0 = nt._wrap(_arg(args, kwargs, 1, "dim0"))
    d1 = nt._wrap(_arg(args, kwargs, 2, "dim1"))
    if d0 == 0 or d1 == 0:
        raise ValueError("Transpose is not supported on the batch dimension for jagged NT")
    r = nt._ragged_idx
    r = d1 if r == d0 else d0 if r == d1 else r
    return nt._like(nt._values.transpose(d0 - 1, d1 - 1), ragged_idx=r)


def _refuse_dim(op, d, r):
    if d == 0:
        raise RuntimeError(f"{op}(): not supported for NestedTensor on dim=0")
    if d == r:
        raise RuntimeError(f"{op}(): not supported for NestedTensor on ragged dim")


def _unflatten(func, name, args, kwargs):
    nt = args[0]
    d = nt._wrap(_arg(args, kwargs, 1, "dim"))
    sizes = tuple(_arg(args, kwargs, 2, "sizes"))
    r = nt._ragged_idx
    _refuse_dim("unflatten", d, r)
    vals = nt._values.unflatten(d - 1, sizes)
    return nt._like(vals, ragged_idx=r + len(sizes) - 1 if d < r else r)


def _flatten(func, name, args, kwargs):
    nt = args[0]
    s = nt._wrap(_arg(args, kwargs, 1, "start_dim", 0))
    e = nt._wrap(_arg(args, kwargs, 2, "end_dim", -1))
    r = nt._ragged_idx
    if s == 0:
        raise RuntimeError("flatten(): not supported for NestedTensor on dim=0")
    if s <= r <= e:
        raise RuntimeError("flatten(): not supported for NestedTensor on ragged dim")
    if s >= e:
        return nt
    vals = nt._values.flatten(s - 1, e - 1)
    return nt._like(vals, ragged_idx=r - (e - s) if e < r else r)


def _view(func, name, args, kwargs):
    nt = args[0]
    shape = _dims_arg(args[1:] or (kwargs.get("shape", kwargs.get("size")),))
    sizes = nt._sizes()
    r = nt._ragged_idx
    if nt._is_strided() and shape and shape[0] == -1:
        raise RuntimeError(f"{name}: For now nested {name} cannot change or infer the "
                           f"implicit batch dimension")
    if r != 1:
        if tuple(shape) != tuple(sizes):
            raise RuntimeError(f"view(): does not support ragged_idx != 1 except when "
                               f"inp._size == size. inp._size is ({_shape_str(nt)}) and size "
                               f"is ({list(shape)}).")
        return nt
    ok = len(shape) >= 2 and shape[0] in (-1, sizes[0]) and \
        (shape[1] == -1 or shape[1] == sizes[1])
    if not ok:
        raise RuntimeError(f"view(): cannot view shape {_shape_str(nt)} as {list(shape)}")
    vals = nt._values
    new = (vals.shape[0],) + tuple(shape[2:])
    out = vals.reshape(new) if name in ("reshape",) else vals.view(new)
    return nt._like(out)


def _unsqueeze(func, name, args, kwargs):
    nt = args[0]
    d = _arg(args, kwargs, 1, "dim")
    n = nt.dim() + 1
    if d < -n or d >= n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}],"
                         f" but got {d})")
    d = d + n if d < 0 else d
    if d == 0:
        raise RuntimeError("unsqueeze(): not supported for NestedTensor on dim=0")
    r = nt._ragged_idx
    return nt._like(nt._values.unsqueeze(d - 1), ragged_idx=r + 1 if d <= r else r)


def _squeeze(func, name, args, kwargs):
    nt = args[0]
    d = _arg(args, kwargs, 1, "dim")
    if d is None:
        raise RuntimeError("squeeze(): For nested tensors, squeeze without the dim argument "
                           "is not supported")
    dims = d if isinstance(d, (tuple, list)) else (d,)
    out, r = nt, nt._ragged_idx
    for dd in sorted((nt._wrap(x) for x in dims), reverse=True):
        _refuse_dim("squeeze", dd, r)
        if out._values.shape[dd - 1] == 1:
            out = out._like(out._values.squeeze(dd - 1), ragged_idx=r - 1 if dd < r else r)
            r = out._ragged_idx
    return out


def _expand(func, name, args, kwargs):
    nt = args[0]
    shape = _dims_arg(args[1:] or (kwargs.get("size"),))
    sizes = nt._sizes()
    if len(shape) != len(sizes) or not all(a == -1 or a == b for a, b in zip(shape, sizes)):
        raise RuntimeError(f"expand(): cannot expand shape {_shape_str(nt)} -> {list(shape)}")
    return nt


def _reduce(func, name, args, kwargs):
    nt = args[0]
    if not _is_nt(nt):
        raise unsupported(name, _first_nt(args, kwargs))
    dim = _arg(args, kwargs, 1, "dim")
    keepdim = _arg(args, kwargs, 2, "keepdim", False)
    dtype = kwargs.get("dtype")
    n, r = nt.dim(), nt._ragged_idx
    if dim is None:
        dims = set(range(n))
    else:
        dims = {nt._wrap(d) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
    if 0 in dims and r not in dims:
        raise RuntimeError(f"{name}(): reducing along the batch dimension but not the ragged "
                           f"dimension is not supported for nested tensors")
    if r in dims:
        if nt._lengths is not None:
            raise RuntimeError(f"{name}(): reducing across the ragged dimension is not "
                               f"supported for non-contiguous nested tensors with holes")
        e = _ember()
        kw = {} if dtype is None else {"dtype": dtype}
        padded = to_padded(nt, 0)
        total = padded.sum(dim=tuple(sorted(dims)), keepdim=keepdim, **kw)
        if name == "mean":
            ones = nt._like(e.ones_like(nt._values))
            count = to_padded(ones, 0).sum(dim=tuple(sorted(dims)), keepdim=keepdim)
            total = total / count.to(total.dtype)
        if dim is None and not keepdim:
            return total.reshape(())
        return total
    vdims = tuple(sorted(d - 1 for d in dims))
    kw = {} if dtype is None else {"dtype": dtype}
    out = getattr(nt._values, name)(dim=vdims, keepdim=keepdim, **kw)
    if not keepdim:
        r -= sum(1 for d in dims if d < r)
    return nt._like(out, ragged_idx=r)


# the padding that drops out of each extreme-value reduction over the ragged dim
_EXTREME_PAD = {"amax": float("-inf"), "max": float("-inf"), "argmax": float("-inf"),
                "amin": float("inf"), "min": float("inf"), "argmin": float("inf")}


def _extreme(func, name, args, kwargs):
    """amax / amin / max / min / argmax / argmin / prod over one dim: a non-ragged one on the
    values (a nested result), the ragged one on the padded form (a dense (B, ...) result)."""
    nt = args[0]
    dim = _arg(args, kwargs, 1, "dim")
    if isinstance(dim, Tensor) or isinstance(kwargs.get("other"), Tensor):
        return _binary(func, name, args, kwargs)   # max(a, b): elementwise
    keepdim = _arg(args, kwargs, 2, "keepdim", False)
    if dim is None or isinstance(dim, (tuple, list)) and len(dim) != 1:
        raise unsupported(name, nt)
    d = nt._wrap(dim[0] if isinstance(dim, (tuple, list)) else dim)
    r = nt._ragged_idx
    if d == 0:
        raise RuntimeError(f"{name}(): not supported for NestedTensor on dim=0")
    if d == r:
        if nt._lengths is not None or name == "prod":
            raise unsupported(name, nt)
        padded = to_padded(nt, _EXTREME_PAD[name])
        return getattr(padded, name)(d, keepdim=keepdim)
    out = getattr(nt._values, name)(d - 1, keepdim=keepdim)
    new_r = r - 1 if d < r and not keepdim else r
    if isinstance(out, tuple):
        return type(out)(*(nt._like(o, ragged_idx=new_r) for o in out))
    return nt._like(out, ragged_idx=new_r)


def _any_all(func, name, args, kwargs):
    """any / all: over everything (a dense 0-dim result) or one non-ragged dim (nested)."""
    nt = args[0]
    dim = _arg(args, kwargs, 1, "dim")
    if dim is None:
        return getattr(nt._values, name)()
    d = nt._wrap(dim)
    if d == 0 or d == nt._ragged_idx:
        raise unsupported(name, nt)
    keepdim = _arg(args, kwargs, 2, "keepdim", False)
    r = nt._ragged_idx
    return nt._like(getattr(nt._values, name)(d - 1, keepdim=keepdim),
                    ragged_idx=r - 1 if d < r and not keepdim else r)


def _permute(func, name, args, kwargs):
    nt = args[0]
    dims = _dims_arg(args[1:] or (kwargs.get("dims"),))
    dims = [nt._wrap(d) for d in dims]
    if dims[0] != 0:
        raise ValueError("Permute is not supported on the batch dimension for jagged NT")
    vals = nt._values.permute([d - 1 for d in dims[1:]])
    return nt._like(vals, ragged_idx=dims.index(nt._ragged_idx))


def _narrow_select(func, name, args, kwargs):
    """narrow / select on a dim other than the batch and the ragged one."""
    nt = args[0]
    d = nt._wrap(_arg(args, kwargs, 1, "dim"))
    _refuse_dim(name, d, nt._ragged_idx)
    r = nt._ragged_idx
    out = getattr(nt._values, name)(d - 1, *args[2:], **{k: v for k, v in kwargs.items()
                                                          if k != "dim"})
    return nt._like(out, ragged_idx=r - 1 if name == "select" and d < r else r)


def _stack(func, name, args, kwargs):
    tensors = list(_arg(args, kwargs, 0, "tensors"))
    dim = _arg(args, kwargs, 1, "dim", 0)
    ref = _first_nt((tensors,), {})
    n = ref.dim() + 1
    d = dim + n if dim < 0 else dim
    if d == 0:
        raise RuntimeError("stack(): not supported for NestedTensor on dim=0")
    if d <= ref._ragged_idx:
        raise RuntimeError("stack(): not supported for NestedTensor on ragged dim")
    vals = [_as_values(ref, t, name) for t in tensors]
    return ref._like(_ember().stack(vals, d - 1))


def _new_factory(func, name, args, kwargs):
    """new_zeros / new_ones / new_empty / new_full: dense, of shape () only (PyTorch's rule
    for nested tensors)."""
    nt = args[0]
    size = _dims_arg(args[1:2] or (kwargs.get("size"),)) if name != "new_tensor" else ()
    if name != "new_tensor" and tuple(size) != ():
        # PyTorch's nested new_zeros / new_ones / new_full go through new_empty
        raise RuntimeError("new_empty() not supported for NJT with shape != ()")
    return func(nt._values, *args[1:], **kwargs)


def _expand_as(func, name, args, kwargs):
    nt, other = args[0], _arg(args, kwargs, 1, "other")
    if _is_nt(other) and _is_nt(nt) and nt._sizes() == other._sizes():
        return nt
    raise unsupported(name, _first_nt(args, kwargs))


def _embedding(func, name, args, kwargs):
    """embedding of a nested tensor of indices: the rows of the weight for its values."""
    ids = args[0]
    if not _is_nt(ids) or any(_is_nt(a) for a in list(args[1:]) + list(kwargs.values())):
        raise unsupported(name, _first_nt(args, kwargs))
    return ids._like(func(ids._values, *args[1:], **kwargs))


def _softmax(func, name, args, kwargs):
    nt = args[0]
    dim = _arg(args, kwargs, 1, "dim")
    if dim is None:
        raise RuntimeError(f"{name}(): dim must be given for nested tensors")
    d = nt._wrap(dim)
    rest = dict(kwargs)
    rest.pop("dim", None)
    extra = tuple(args[2:])
    if d == 0:
        raise RuntimeError(f"{name}(): not supported when reducing across the batch "
                           f"dimension for NestedTensor")
    if d == nt._ragged_idx:
        if name == "log_softmax":
            raise RuntimeError("log_softmax(): not supported when reducing along the ragged "
                               "dimension for NestedTensor")
        if nt._lengths is not None:
            raise RuntimeError(f"{name}(): not supported where lengths is not None if "
                               f"reducing across the ragged dimension for NestedTensor")
        padded = to_padded(nt, float("-inf"))
        return from_padded(func(padded, d, *extra, **rest), nt)
    return nt._like(func(nt._values, d - 1, *extra, **rest))


def _norm(func, name, args, kwargs):
    nt = args[0]
    shape = _arg(args, kwargs, 1, "normalized_shape")
    k = 1 if isinstance(shape, int) else len(shape)
    if not _is_nt(nt) or any(_is_nt(a) for a in args[2:]):
        raise unsupported(name, _first_nt(args, kwargs))
    if nt._ragged_idx >= nt.dim() - k:
        raise RuntimeError(f"{name}(): not supported for NestedTensor objects with "
                           f"normalized dims over the batch or ragged dims")
    return nt._like(func(nt._values, *args[1:], **kwargs))


def _split(func, name, args, kwargs):
    nt = args[0]
    size = _arg(args, kwargs, 1, "chunks" if name == "chunk" else "split_size_or_sections")
    if size is None:
        size = kwargs.get("split_size", kwargs.get("sections", kwargs.get("split_sizes")))
    d = nt._wrap(_arg(args, kwargs, 2, "dim", 0))
    if d == nt._ragged_idx:
        raise RuntimeError(f"{name}(): not supported for NestedTensor on ragged dim")
    if d == 0:
        return _split_batch(nt, name, size)
    parts = getattr(nt._values, name)(size, d - 1)
    return tuple(nt._like(p) for p in parts)


def _split_batch(nt, name, size):
    """chunk/split along the batch: nested tensors of consecutive components."""
    e = _ember()
    comps = nt.unbind()
    B = len(comps)
    if name == "chunk":
        step = -(-B // size) if B else 1
        sizes = [min(step, B - i) for i in range(0, B, step)]
    elif isinstance(size, int):
        sizes = [min(size, B - i) for i in range(0, B, size)]
    else:
        sizes = list(size)
    out, at = [], 0
    for s in sizes:
        group = comps[at:at + s]
        at += s
        lens = [c.shape[nt._ragged_idx - 1] for c in group]
        offsets = e.as_tensor(np.concatenate(([0], np.cumsum(lens))).astype(np.int64),
                              device=nt.device)
        vals = e.cat(group, nt._ragged_idx - 1)
        out.append(make_nested(vals, offsets, None, nt._ragged_idx, nt._nested_layout))
    return tuple(out)


def _cat(func, name, args, kwargs):
    tensors = list(_arg(args, kwargs, 0, "tensors"))
    dim = _arg(args, kwargs, 1, "dim", 0)
    ref = _first_nt((tensors,), {})
    d = ref._wrap(dim)
    _refuse_dim("cat", d, ref._ragged_idx)
    vals = [_as_values(ref, t, name) for t in tensors]
    return ref._like(_ember().cat(vals, d - 1))


def _unbind(func, name, args, kwargs):
    return args[0].unbind(_arg(args, kwargs, 1, "dim", 0))


def _getitem(func, name, args, kwargs):
    nt, index = args[0], args[1]
    idx = index if isinstance(index, tuple) else (index,)
    first = idx[0]
    if isinstance(first, int) and not isinstance(first, bool):
        comp = nt.unbind()[first]
        return comp[idx[1:]] if len(idx) > 1 else comp
    if isinstance(first, slice):
        raise RuntimeError("slice(): not supported for NestedTensor on dim=0")
    if first is Ellipsis and len(idx) - 1 <= nt.dim() - 1 - nt._ragged_idx and all(
            isinstance(i, (int, slice)) and not isinstance(i, bool) for i in idx[1:]):
        # nt[..., k], nt[..., a:b]: indexes of the dims after the ragged one
        return nt._like(nt._values[index])
    raise NotImplementedError(f"ember.nested: indexing a nested tensor with {index!r} is "
                              f"not supported (index dimension 0 with an int)")


def _to(func, name, args, kwargs):
    nt = args[0]
    out = func(nt._values, *args[1:], **kwargs)
    if out is nt._values:
        return nt
    offsets, lengths = nt._offsets, nt._lengths
    if out.device != offsets.device:
        offsets = offsets.to(out.device)
        offsets.__dict__["_nested_int"] = nested_int(nt._offsets)
        lengths = None if lengths is None else lengths.to(out.device)
    return make_nested(out, offsets, lengths, nt._ragged_idx, nt._nested_layout)


def _contiguous(func, name, args, kwargs):
    nt = args[0]
    if nt._lengths is None:
        return nt._like(nt._values.contiguous())
    e = _ember()
    comps = nt.unbind()
    offsets = e.as_tensor(np.concatenate(([0], np.cumsum(nt._lengths_array()))),
                          device=nt.device)
    return make_nested(e.cat(comps, nt._ragged_idx - 1), offsets, None, nt._ragged_idx,
                       nt._nested_layout)


def _property(func, args, kwargs):
    prop = getattr(func, "__self__", None)
    pname = next((n for n, p in vars(Tensor).items() if p is prop and p is not None), "?")
    nt = args[0]
    if pname.startswith("is_") and func.__name__ == "__get__":
        return prop.fget(nt)
    if pname == "data" and func.__name__ == "__get__":
        return nt.detach()
    raise unsupported(pname, nt)


def _host_refusal(func, name, args, kwargs):
    """numpy / tolist / item: PyTorch's errors for a nested tensor."""
    nt = args[0]
    if name == "item":
        raise RuntimeError(f"a Tensor with {nt.numel()} elements cannot be converted to Scalar")
    if name == "numpy":
        raise RuntimeError(".numpy() is not supported for tensor subclasses.")
    raise RuntimeError(f".{name}() is not supported for tensor subclasses, got NestedTensor")


def _cross_entropy(func, name, args, kwargs):
    """cross_entropy normalizes over dim 1: the ragged dim of a (B, j, C) nested input."""
    nt = args[0]
    if _is_nt(nt) and nt._ragged_idx == 1:
        raise RuntimeError("log_softmax(): not supported when reducing along the ragged "
                           "dimension for NestedTensor")
    raise unsupported(name, _first_nt(args, kwargs))


_HANDLERS = {
    "linear": _linear, "matmul": _matmul, "__matmul__": _matmul, "__rmatmul__": _matmul,
    "bmm": _matmul, "mm": _matmul,
    "transpose": _transpose, "swapaxes": _transpose, "swapdims": _transpose,
    "unflatten": _unflatten, "flatten": _flatten, "view": _view, "reshape": _view,
    "unsqueeze": _unsqueeze, "squeeze": _squeeze, "expand": _expand,
    "sum": _reduce, "mean": _reduce,
    "amax": _extreme, "amin": _extreme, "max": _extreme, "min": _extreme,
    "argmax": _extreme, "argmin": _extreme, "prod": _extreme,
    "embedding": _embedding, "any": _any_all, "all": _any_all, "permute": _permute,
    "narrow": _narrow_select, "select": _narrow_select, "stack": _stack,
    "new_zeros": _new_factory, "new_ones": _new_factory, "new_empty": _new_factory,
    "new_full": _new_factory, "expand_as": _expand_as,
    "softmax": _softmax, "log_softmax": _softmax,
    "layer_norm": _norm, "rms_norm": _norm,
    "scaled_dot_product_attention": _sdpa,
    "chunk": _split, "split": _split,
    "cat": _cat, "concat": _cat, "concatenate": _cat,
    "unbind": _unbind, "__getitem__": _getitem,
    "to": _to, "cuda": _to, "cpu": _to,
    "contiguous": _contiguous,
    "numpy": _host_refusal, "tolist": _host_refusal, "item": _host_refusal,
    "cross_entropy": _cross_entropy,
}


def dispatch(func, types, args, kwargs):
    """NestedTensor.__torch_function__: the nested version of `func`."""
    name = getattr(func, "__name__", "")
    if name in ("__get__", "__set__"):
        return _property(func, args, kwargs)
    if not args and "input" in kwargs:   # F.linear(input=nt, ...): the input first
        kwargs = dict(kwargs)
        args = (kwargs.pop("input"),)
    if any(_is_nt(a) and a._comps is not None for a in list(args) + list(kwargs.values())):
        return per_component(func, name, args, kwargs, UNARY, BINARY)
    handler = _HANDLERS.get(name)
    if handler is not None:
        return handler(func, name, args, kwargs)
    if name in BINARY and sum(isinstance(a, Tensor) for a in args) + \
            sum(isinstance(a, Tensor) for a in kwargs.values()) > 1:
        return _binary(func, name, args, kwargs)
    if name in UNARY or name in BINARY:
        if _is_nt(args[0]) and not any(_is_nt(a) for a in args[1:]):
            return _unary(func, name, args, kwargs)
        return _binary(func, name, args, kwargs)
    raise unsupported(name, _first_nt(args, kwargs))
