"""Dynamic dimensions of exported programs (``torch.export.Dim``, ``dynamic_shapes=``).

An exported program is traced on example inputs; every dimension is then fixed (a guard
checks it on each call) unless `dynamic_shapes` marks it. A marked dimension becomes a
symbol ``s0, s1 ...`` with a value range ``[min, max]``; ``x.size(0)`` of such a dimension
is recorded in the graph (``aten.sym_size.int``) instead of being baked in as a number.

Forms accepted for ``dynamic_shapes`` (as PyTorch's): a dict keyed by the forward's
argument names, or a tuple/list in argument order; per tensor a dict ``{dim: Dim}`` or a
tuple/list with one entry per dim (None: static); nested inputs (lists, dicts of tensors)
take a spec of the same nesting. ``Dim.AUTO`` and ``Dim.DYNAMIC`` mark a dim dynamic with
the range [0, inf]; ``Dim.STATIC`` (or None) keeps it fixed.
"""
import enum
import math

__all__ = ["Dim", "ShapesCollection", "refine_dynamic_shapes_from_suggested_fixes"]


class _DimHint(enum.Enum):
    """``Dim.AUTO``, ``Dim.DYNAMIC``, ``Dim.STATIC``."""
    AUTO = "AUTO"
    DYNAMIC = "DYNAMIC"
    STATIC = "STATIC"

    def __call__(self, min=None, max=None):
        return _DimHintRange(self, min, max)


class _DimHintRange:
    """``Dim.AUTO(min=2, max=8)``: a hint with a range."""

    def __init__(self, hint, min, max):
        self.type = hint
        self.min = min
        self.max = max


class _Dim:
    """A named dynamic dimension with the value range [min, max]."""

    def __init__(self, name, min=None, max=None):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"Dim name must be a valid identifier, got {name!r}")
        lo = 0 if min is None else int(min)
        hi = math.inf if max is None else int(max)
        if hi < lo:
            raise ValueError(f"Cannot create Dim with inconsistent min={min}, max={max}")
        self.__name__ = name
        self.min = lo
        self.max = hi

    def __repr__(self):
        hi = "int_oo" if self.max == math.inf else self.max
        return f"Dim('{self.__name__}', min={self.min}, max={hi})"


class _DimFactory:
    """``Dim(name, min=None, max=None)``, plus the hints ``Dim.AUTO/DYNAMIC/STATIC``."""
    AUTO = _DimHint.AUTO
    DYNAMIC = _DimHint.DYNAMIC
    STATIC = _DimHint.STATIC

    def __call__(self, name, *, min=None, max=None):
        return _Dim(name, min, max)

    def __instancecheck__(self, obj):
        return isinstance(obj, _Dim)

    def __repr__(self):
        return "<function Dim>"


Dim = _DimFactory()


def dims(*names, min=None, max=None):
    """Several Dims of one range: ``batch, seq = dims("batch", "seq", max=64)``."""
    return tuple(_Dim(n, min, max) for n in names)


class ShapesCollection:
    """Dynamic shapes given per tensor object: ``sc[x] = {0: Dim("b")}``, then
    ``dynamic_shapes=sc.dynamic_shapes(model, args, kwargs)``."""

    def __init__(self):
        self._shapes = {}

    def __setitem__(self, t, shape):
        self._shapes[id(t)] = (t, shape)

    def __getitem__(self, t):
        return self._shapes.setdefault(id(t), (t, {}))[1]

    def __len__(self):
        return len(self._shapes)

    def dynamic_shapes(self, m, args, kwargs=None):
        from ..utils import _pytree
        from .._tensor import Tensor

        def spec(x):
            hit = self._shapes.get(id(x))
            return hit[1] if hit is not None else None

        tree = (tuple(args), dict(kwargs or {}))
        leaves, treespec = _pytree.tree_flatten(tree)
        specs = _pytree.tree_unflatten(
            [spec(x) if isinstance(x, Tensor) else None for x in leaves], treespec)
        args_spec, kwargs_spec = specs
        return tuple(args_spec) + tuple(kwargs_spec.values()) if kwargs_spec else args_spec


def refine_dynamic_shapes_from_suggested_fixes(msg, dynamic_shapes):
    raise NotImplementedError("ember.export: refine_dynamic_shapes_from_suggested_fixes is not "
                              "built (ember's export reports no suggested fixes)")


# --------------------------------------------------------------------------------------
# matching a dynamic_shapes spec to the inputs


class DynamicDim:
    """One marked dimension of one input: its symbol, range and the Dim that named it."""

    def __init__(self, symbol, lo, hi, name=None):
        self.symbol = symbol
        self.min = lo
        self.max = hi
        self.name = name


def _dim_entry(entry):
    """(min, max, name) of a per-dim spec entry, or None when the dim stays static."""
    if entry is None or entry is _DimHint.STATIC:
        return None
    if isinstance(entry, _Dim):
        return entry.min, entry.max, entry.__name__
    if entry in (_DimHint.AUTO, _DimHint.DYNAMIC):
        return 0, math.inf, None
    if isinstance(entry, _DimHintRange):
        if entry.type is _DimHint.STATIC:
            return None
        lo = 0 if entry.min is None else entry.min
        return lo, math.inf if entry.max is None else entry.max, None
    if isinstance(entry, int):
        return None   # an int spec pins the dim to that value (checked below)
    raise TypeError(f"dynamic_shapes: a dimension's spec must be a Dim, Dim.AUTO/DYNAMIC/"
                    f"STATIC, an int or None, got {type(entry).__name__} {entry!r}")


def tensor_spec_dims(spec, tensor, path):
    """{dim index: (min, max, name)} for one tensor's spec (dict or sequence)."""
    if spec is None:
        return {}
    ndim = tensor.dim()
    if isinstance(spec, dict):
        items = spec.items()
    elif isinstance(spec, (list, tuple)):
        if len(spec) != ndim:
            from ._errors import UserError
            raise UserError(f"dynamic_shapes of {path}: expected {ndim} entries (one per "
                            f"dimension of a tensor of shape {list(tensor.shape)}), "
                            f"got {len(spec)}")
        items = enumerate(spec)
    else:
        raise TypeError(f"dynamic_shapes of {path}: expected a dict or a tuple/list per "
                        f"tensor, got {type(spec).__name__}")
    out = {}
    for d, entry in items:
        if not isinstance(d, int) or not -ndim <= d < ndim:
            raise IndexError(f"dynamic_shapes of {path}: dimension {d} out of range for a "
                             f"tensor of shape {list(tensor.shape)}")
        d = d % ndim
        if isinstance(entry, int) and not isinstance(entry, bool) and \
                entry != tensor.shape[d]:
            from ._errors import UserError
            raise UserError(f"dynamic_shapes of {path}: dim {d} is pinned to {entry} but the "
                            f"example input has size {tensor.shape[d]}")
        r = _dim_entry(entry)
        if r is not None:
            lo, hi, name = r
            size = tensor.shape[d]
            if not lo <= size <= hi:
                from ._errors import ConstraintViolationError
                raise ConstraintViolationError(
                    f"dynamic_shapes of {path}: the example size {size} of dim {d} is "
                    f"outside the range [{lo}, {hi}] of {name or 'the dynamic dim'}")
            out[d] = r
    return out
