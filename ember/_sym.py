"""torch.sym_*: the symbolic-shape helpers, on plain Python numbers (ember traces no
shapes, so every size is a concrete int and these are the ordinary operations)."""
import builtins
import math

__all__ = ["sym_int", "sym_float", "sym_max", "sym_min", "sym_not", "sym_sqrt", "sym_ite",
           "sym_sum", "SymInt", "SymFloat", "SymBool"]


class _Symbolic:
    """torch.SymInt & co.: the types of symbolic numbers, which ember never makes (every
    size is a plain number), so ``isinstance(n, torch.SymInt)`` is False as in eager
    PyTorch."""

    def __init__(self, *args, **kwargs):
        raise TypeError(f"ember has no symbolic numbers: {type(self).__name__} cannot be "
                        f"made (sizes are plain Python numbers)")


class SymInt(_Symbolic):
    pass


class SymFloat(_Symbolic):
    pass


class SymBool(_Symbolic):
    pass


def sym_int(a):
    """int(a), truncating toward zero."""
    return int(a)


def sym_float(a):
    return float(a)


def sym_max(a, b):
    """max(a, b); a float if either is one (sym_max(3, 2.0) is 3.0), as PyTorch's."""
    m = builtins.max(a, b)
    return float(m) if isinstance(a, float) or isinstance(b, float) else m


def sym_min(a, b):
    m = builtins.min(a, b)
    return float(m) if isinstance(a, float) or isinstance(b, float) else m


def sym_not(a):
    return not a


def sym_sqrt(a):
    return math.sqrt(a)


def sym_ite(b, t, f):
    """t if b else f; b must be a bool."""
    if not isinstance(b, bool):
        raise AssertionError(f"expected SymBool or bool, got {type(b)}")
    return t if b else f


def sym_sum(args):
    """The sum of the numbers in `args`."""
    return builtins.sum(args)


_INT64_MIN, _INT64_MAX = -2 ** 63, 2 ** 63 - 1


def sym_constrain_range(size, *, min=None, max=None):
    """Assert min <= size <= max (unbounded sides default to int64's range)."""
    lo = _INT64_MIN if min is None else min
    hi = _INT64_MAX if max is None else max
    if not lo <= size <= hi:
        raise RuntimeError(f"Invalid value range for {size} between [{lo}, {hi}].")


def sym_constrain_range_for_size(size, *, min=None, max=None):
    """sym_constrain_range for a size: min defaults to 0."""
    sym_constrain_range(size, min=0 if min is None else min, max=max)


__all__ += ["sym_constrain_range", "sym_constrain_range_for_size"]
