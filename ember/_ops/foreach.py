"""torch._foreach_*: one op applied to every tensor of a list (the "multi-tensor" ops that
optimizers and hand-written update rules use).

``_foreach_add(xs, other)`` is ``tuple(add(x, o) for x, o in zip(xs, others))`` where the
second operand is, by PyTorch's overloads, one Python scalar for all (``.Scalar``), one
scalar per tensor (``.ScalarList``), one tensor per tensor (``.List``) or one tensor for
all (``.Tensor``). The out-of-place forms return a tuple of new tensors, the in-place
forms (trailing underscore) update each tensor with its in-place method and return the
list they were given.

ember has no fused multi-tensor kernel: each element runs the ordinary op, so values,
dtypes, promotion errors and autograd are those of the single-tensor op.
"""
from .._tensor import Tensor

__all__ = []


# ---------------------------------------------------------------------------- arguments

def _tensor_list(tensors, argument=1):
    """`tensors` as a list, checked: a non-empty list of Tensors (PyTorch's messages)."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"_foreach op: argument {argument} must be a list of Tensors, not "
                        f"{type(tensors).__name__}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument {argument - 1}, "
                            f"but got {type(t).__name__}")
    if not tensors:
        raise RuntimeError("Tensor list must have at least one tensor.")
    return list(tensors)


def _same_length(tensors, others):
    if len(others) != len(tensors):
        raise RuntimeError(f"Tensor lists must have the same number of tensors, got "
                           f"{len(tensors)} and {len(others)}")


def _operands(tensors, other, argument=2):
    """The second operand of each element: `other` broadcast over the list when it is one
    scalar or one tensor, else its entries (a tensor list or a scalar list)."""
    if not isinstance(other, (list, tuple)):
        return [other] * len(tensors)
    if any(isinstance(o, Tensor) for o in other):   # the .List overload: tensors only
        others = _tensor_list(other, argument) if other else other
        _same_length(tensors, others)
        return others
    if len(other) != len(tensors):
        raise RuntimeError("Tensor list must have same number of elements as scalar list.")
    return list(other)


def _per_tensor_scalars(tensors, scalars):
    """addcmul/addcdiv's `scalars`: one scalar, a scalar list or a 1-D tensor of them."""
    if isinstance(scalars, Tensor):
        if scalars.dim() != 1 or scalars.numel() != len(tensors):
            raise RuntimeError(f"Expected length of scalars to match input of length "
                               f"{len(tensors)} but got {scalars.numel()} instead.")
        return scalars.tolist()
    return _operands(tensors, scalars, 4)


# ---------------------------------------------------------------------------- builders

def _export(name, fn):
    fn.__name__ = fn.__qualname__ = name
    globals()[name] = fn
    __all__.append(name)


def _unary(op):
    def out_of_place(self):
        import ember
        return tuple(getattr(ember, op)(t) for t in _tensor_list(self))

    def in_place(self):
        for t in _tensor_list(self):
            getattr(t, op + "_")()
        return self
    out_of_place.__doc__ = f"({op}(x) for x in self)"
    in_place.__doc__ = f"x.{op}_() for each x in self"
    _export(f"_foreach_{op}", out_of_place)
    _export(f"_foreach_{op}_", in_place)


def _binary(op, with_alpha=False, scalar_op=None):
    """op(x, o) per element; `scalar_op` replaces op where the operand is a Python scalar
    (maximum/minimum take tensors only: a scalar bound is clamp_min/clamp_max)."""
    def call(fn_name, t, o, kwargs):
        if scalar_op is not None and not isinstance(o, Tensor):
            fn_name = scalar_op + ("_" if fn_name.endswith("_") else "")
        if fn_name.endswith("_"):
            return getattr(t, fn_name)(o, **kwargs)
        import ember
        return getattr(ember, fn_name)(t, o, **kwargs)

    def out_of_place(self, other, **kwargs):
        _check_alpha(kwargs)
        tensors = _tensor_list(self)
        return tuple(call(op, t, o, kwargs) for t, o in zip(tensors, _operands(tensors, other)))

    def in_place(self, other, **kwargs):
        _check_alpha(kwargs)
        tensors = _tensor_list(self)
        for t, o in zip(tensors, _operands(tensors, other)):
            call(op + "_", t, o, kwargs)
        return self

    def _check_alpha(kwargs):
        allowed = {"alpha"} if with_alpha else set()
        extra = set(kwargs) - allowed
        if extra:
            raise TypeError(f"_foreach_{op}() got an unexpected keyword argument "
                            f"'{sorted(extra)[0]}'")
    out_of_place.__doc__ = f"({op}(x, o) for x, o in zip(self, other))"
    in_place.__doc__ = f"x.{op}_(o) for x, o in zip(self, other)"
    _export(f"_foreach_{op}", out_of_place)
    _export(f"_foreach_{op}_", in_place)


def _pointwise_ternary(op):
    """addcmul/addcdiv: x + value * (t1 op t2), with one value or one per tensor."""
    def terms(self, tensor1, tensor2, scalars):
        tensors = _tensor_list(self)
        t1, t2 = _tensor_list(tensor1, 2), _tensor_list(tensor2, 3)
        _same_length(tensors, t1)
        _same_length(tensors, t2)
        return zip(tensors, t1, t2, _per_tensor_scalars(tensors, scalars))

    # PyTorch's overloads name the fourth argument `value` (one scalar) or `scalars`
    def out_of_place(self, tensor1, tensor2, value=1, scalars=None):
        import ember
        scalars = value if scalars is None else scalars
        return tuple(getattr(ember, op)(x, a, b, value=v)
                     for x, a, b, v in terms(self, tensor1, tensor2, scalars))

    def in_place(self, tensor1, tensor2, value=1, scalars=None):
        scalars = value if scalars is None else scalars
        for x, a, b, v in terms(self, tensor1, tensor2, scalars):
            getattr(x, op + "_")(a, b, value=v)
        return self
    out_of_place.__doc__ = f"({op}(x, t1, t2, value=v) for each element)"
    in_place.__doc__ = f"x.{op}_(t1, t2, value=v) for each element"
    _export(f"_foreach_{op}", out_of_place)
    _export(f"_foreach_{op}_", in_place)


for _op in ("abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp",
            "expm1", "floor", "frac", "lgamma", "log", "log10", "log1p", "log2", "neg",
            "reciprocal", "round", "rsqrt", "sigmoid", "sign", "sin", "sinh", "sqrt", "tan",
            "tanh", "trunc"):
    _unary(_op)
for _op in ("add", "sub"):
    _binary(_op, with_alpha=True)
for _op in ("mul", "div", "clamp_min", "clamp_max"):
    _binary(_op)
_binary("maximum", scalar_op="clamp_min")
_binary("minimum", scalar_op="clamp_max")
_pointwise_ternary("addcmul")
_pointwise_ternary("addcdiv")


# ---------------------------------------------------------------------------- the rest

def _foreach_pow(self, exponent):
    """(x ** e for each x); a scalar base with a tensor list of exponents gives
    (base ** e for each e)."""
    import ember
    if not isinstance(self, (list, tuple)) and isinstance(exponent, (list, tuple)):
        return tuple(ember.pow(self, e) for e in _tensor_list(exponent, 2))
    tensors = _tensor_list(self)
    return tuple(ember.pow(t, e) for t, e in zip(tensors, _operands(tensors, exponent)))


def _foreach_pow_(self, exponent):
    tensors = _tensor_list(self)
    for t, e in zip(tensors, _operands(tensors, exponent)):
        t.pow_(e)
    return self


def _foreach_lerp(self, tensors1, weight):
    """(x + w (y - x) for each x, y), w one scalar, a scalar list or a tensor list."""
    import ember
    tensors, ends = _tensor_list(self), _tensor_list(tensors1, 2)
    _same_length(tensors, ends)
    return tuple(ember.lerp(x, y, w)
                 for x, y, w in zip(tensors, ends, _operands(tensors, weight, 3)))


def _foreach_lerp_(self, tensors1, weight):
    tensors, ends = _tensor_list(self), _tensor_list(tensors1, 2)
    _same_length(tensors, ends)
    for x, y, w in zip(tensors, ends, _operands(tensors, weight, 3)):
        x.lerp_(y, w)
    return self


def _foreach_norm(self, ord=2, dtype=None):
    """(||x||_ord for each x): vector norms over all elements, as linalg.vector_norm."""
    import ember
    return tuple(ember.linalg.vector_norm(t, ord, dtype=dtype) for t in _tensor_list(self))


def _foreach_powsum(self, ord=2, dtype=None):
    """(sum |x_i|^ord for each x): the norm before its root (ord 0 counts every element,
    as 0^0 = 1)."""
    import ember
    out = []
    for t in _tensor_list(self):
        t = t if dtype is None else t.to(dtype)
        out.append(ember.sum(ember.pow(ember.abs(t), ord)))
    return tuple(out)


def _foreach_max(self):
    """(max(x) for each x): the largest element of each tensor, 0-dim."""
    return tuple(t.max() for t in _tensor_list(self))


def _foreach_mm(self, mat2):
    import ember
    tensors, others = _tensor_list(self), _tensor_list(mat2, 2)
    _same_length(tensors, others)
    return tuple(ember.mm(a, b) for a, b in zip(tensors, others))


def _foreach_clone(self, *, memory_format=None):
    import ember
    fmt = {} if memory_format is None else {"memory_format": memory_format}
    return tuple(ember.clone(t, **fmt) for t in _tensor_list(self))


def _foreach_copy_(self, src, non_blocking=False):
    """x.copy_(s) for each pair: values cast to x's dtype and device, x keeps its identity."""
    tensors, sources = _tensor_list(self), _tensor_list(src, 2)
    _same_length(tensors, sources)
    for t, s in zip(tensors, sources):
        t.copy_(s, non_blocking=non_blocking)
    return self


def _foreach_zero_(self):
    for t in _tensor_list(self):
        t.zero_()
    return self


__all__ += ["_foreach_pow", "_foreach_pow_", "_foreach_lerp", "_foreach_lerp_",
            "_foreach_norm", "_foreach_powsum", "_foreach_max", "_foreach_mm",
            "_foreach_clone", "_foreach_copy_", "_foreach_zero_"]
del _op
