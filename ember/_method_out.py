"""Tensor methods take no `out=`, as in PyTorch.

Many Tensor methods are the public functions themselves (`Tensor.gather = gather`), which
take PyTorch's `out=` keyword; PyTorch's methods do not (`x.gather(0, i, out=y)` raises
TypeError: gather() got an unexpected keyword argument 'out'). refuse_out_keyword puts a
check in front of each such method, once, after every op module has attached its methods.
"""
import functools
import inspect


def _refusing(name, fn):
    @functools.wraps(fn)
    def method(self, *args, **kwargs):
        if "out" in kwargs:
            raise TypeError(f"{name}() got an unexpected keyword argument 'out'")
        return fn(self, *args, **kwargs)
    method._refuses_out = True
    return method


def refuse_out_keyword(cls):
    """Wrap every public method of `cls` whose function has an `out` keyword parameter.
    Operator methods (`__add__`) are left alone: an operator passes no keywords."""
    for name, fn in list(vars(cls).items()):
        if name.startswith("_") or not inspect.isfunction(fn) or getattr(fn, "_refuses_out",
                                                                             False):
            continue
        if _has_out(fn) or _has_out(inspect.unwrap(fn)):
            setattr(cls, name, _refusing(name, fn))


def _has_out(fn):
    try:
        params = inspect.signature(fn, follow_wrapped=False).parameters
    except (TypeError, ValueError):   # pragma: no cover - builtins have no signature
        return False
    out = params.get("out")
    return out is not None and out.kind in (out.KEYWORD_ONLY, out.POSITIONAL_OR_KEYWORD)
