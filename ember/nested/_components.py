"""Strided nested tensors ragged in more than one dim: a list of components.

PyTorch's strided layout holds components that may differ in every dim (a batch of images
of different heights and widths, or the attention weights (H, L_i, L_i) of sequences of
different lengths). Those cannot be packed along one dim, so such a nested tensor keeps its
components in a list (``_comps``) and a flat buffer of all their elements (``_values``: what
``values()`` returns for the strided layout, and what autograd tracks for the nested tensor
as a whole). Its ops run component by component (`per_component`), and a result whose
components differ in one dim at most is packed again (`from_components`).
"""
import numpy as np

from .._tensor import Tensor
from ._nested_tensor import NestedTensor, make_nested


def _ember():
    import ember
    return ember


def is_list_rep(t):
    return isinstance(t, NestedTensor) and t._comps is not None


def components(t):
    """The components of a nested tensor, whatever its representation."""
    return list(t._comps) if t._comps is not None else list(t.unbind())


def from_components(comps, layout, leaf_requires_grad=None):
    """A nested tensor of these components: packed along the one dim they differ in (the
    values representation), else a list. `leaf_requires_grad` (not None): a new leaf that
    copies the components (nested_tensor's construction)."""
    e = _ember()
    comps = list(comps)
    shapes = [tuple(c.shape) for c in comps]
    nd = len(shapes[0])
    differ = [d for d in range(nd) if len({s[d] for s in shapes}) > 1]
    if leaf_requires_grad is not None:
        flat = e.cat([c.detach().reshape(-1) for c in comps]).clone()
        if leaf_requires_grad:
            flat.requires_grad_()
        if len(differ) <= 1:
            comps = _split_flat(flat, shapes)
        else:
            return _list_nested(flat, _split_flat(flat, shapes), layout)
    if len(differ) <= 1:
        r = differ[0] if differ else 0
        values = e.cat(comps, r)
        lengths = [s[r] for s in shapes]
        offsets = e.as_tensor(np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
                              device=values.device)
        return make_nested(values, offsets, None, r + 1, layout)
    flat = e.cat([c.reshape(-1) for c in comps])
    return _list_nested(flat, comps, layout)


def _split_flat(flat, shapes):
    out, at = [], 0
    for s in shapes:
        n = int(np.prod(s)) if s else 1
        out.append(flat.narrow(0, at, n).view(s))
        at += n
    return out


def _list_nested(flat, comps, layout):
    t = make_nested(flat, None, None, None, layout)
    t._comps = list(comps)
    return t


def like_flat(t, flat):
    """A list-represented nested tensor of t's shapes whose elements are `flat` (a gradient,
    a detached copy)."""
    return _list_nested(flat, _split_flat(flat, [tuple(c.shape) for c in t._comps]),
                        t._nested_layout)


def _shift(d, n):
    """A dim of the nested tensor (n dims) as a dim of its components."""
    if not isinstance(d, int):
        return d
    d = d + n if d < 0 else d
    if d == 0:
        raise RuntimeError("Nested tensors do not support operations along the batch "
                           "dimension (dim 0)")
    return d - 1


# ops whose dim arguments (positional index or keyword) count the nested tensor's dims
_DIM_ARGS = {"softmax": (1, "dim"), "log_softmax": (1, "dim"), "sum": (1, "dim"),
             "mean": (1, "dim"), "amax": (1, "dim"), "amin": (1, "dim"),
             "unsqueeze": (1, "dim"), "squeeze": (1, "dim")}
_TWO_DIMS = {"transpose", "swapaxes", "swapdims"}


def per_component(func, name, args, kwargs, unary, binary):
    """func applied to the components of the nested arguments, one batch entry at a time;
    dims that count the nested tensor's dims are shifted by one (the batch)."""
    nts = [a for a in list(args) + list(kwargs.values()) if isinstance(a, NestedTensor)]
    ref = nts[0]
    n = ref.dim()
    B = len(components(ref))
    if any(len(components(t)) != B for t in nts):
        raise RuntimeError(f"{name}(): nested tensors of different batch sizes")
    args = list(args)
    kwargs = dict(kwargs)
    if name in _TWO_DIMS:
        for i in (1, 2):
            if len(args) > i:
                args[i] = _shift(args[i], n)
    elif name in _DIM_ARGS:
        i, key = _DIM_ARGS[name]
        if len(args) > i:
            args[i] = _shift(args[i], n) if not isinstance(args[i], (tuple, list)) else \
                type(args[i])(_shift(d, n) for d in args[i])
        elif key in kwargs:
            kwargs[key] = _shift(kwargs[key], n)
    elif name in ("reshape", "view"):
        shape = args[1:] if len(args) > 1 else (kwargs.pop("shape", None) or kwargs.pop("size"),)
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if shape[0] not in (B, ):
            raise RuntimeError(f"{name}: For now nested {name} cannot change or infer the "
                               f"implicit batch dimension")
        per_shapes = [list(shape[1:]) for _ in range(B)]
        outs = []
        for c, s in zip(components(ref), per_shapes):
            # -1 keeps the component's own size of that dim (PyTorch's nested semantics)
            s = [c.shape[k] if v == -1 and k < c.dim() else v for k, v in enumerate(s)]
            outs.append(func(c, s))
        return from_components(outs, ref._nested_layout)
    elif name not in unary and name not in binary and name not in (
            "matmul", "bmm", "__matmul__", "linear", "dropout", "contiguous", "clone"):
        from ._ops import unsupported
        raise unsupported(name, ref)
    comps = {id(t): components(t) for t in nts}
    outs = []
    for b in range(B):
        a_b = [comps[id(a)][b] if isinstance(a, NestedTensor) else a for a in args]
        k_b = {k: comps[id(v)][b] if isinstance(v, NestedTensor) else v
               for k, v in kwargs.items()}
        outs.append(func(*a_b, **k_b))
    if not all(isinstance(o, Tensor) for o in outs):
        from ._ops import unsupported
        raise unsupported(name, ref)
    if name.endswith("_") and not name.endswith("__"):
        return args[0]
    return from_components(outs, ref._nested_layout)


def to_padded_list(t, padding, output_size=None):
    """The dense tensor of a list-represented nested tensor: each component padded at the
    end of every dim to the largest size (or to output_size[1:])."""
    e = _ember()
    comps = t._comps
    nd = comps[0].dim()
    target = [max(c.shape[d] for c in comps) for d in range(nd)]
    if output_size is not None:
        want = list(output_size)[1:]
        if any(w < h for w, h in zip(want, target)):
            raise RuntimeError("Value in output_size is less than NestedTensor padded size. "
                               "Truncation is not supported.")
        target = want
    F = e.nn.functional
    padded = []
    for c in comps:
        spec = []
        for d in reversed(range(nd)):
            spec += [0, target[d] - c.shape[d]]
        padded.append(F.pad(c, spec, value=padding) if any(spec) else c)
    out = e.stack(padded)
    if output_size is not None and output_size[0] > out.shape[0]:
        extra = e.full((output_size[0] - out.shape[0],) + tuple(out.shape[1:]), padding,
                       dtype=out.dtype, device=out.device)
        out = e.cat([out, extra])
    return out
