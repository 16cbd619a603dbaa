"""torch._dynamo: the names programs use around ``torch.compile`` (``reset()`` between
experiments, ``config.suppress_errors = True``, ``mark_dynamic``, ``graph_break``).

ember has no graph capture (``ember.compile`` returns the model, which runs eagerly), so
these run as PyTorch's would outside a compiled region: resets and marks do nothing,
``disable``/``allow_in_graph`` are ember.compiler's, ``optimize(...)`` is a decorator that
leaves the function as it is. ``config`` holds the common settings and refuses unknown
names as PyTorch's does.
"""
import functools

from ..compiler import (allow_in_graph, assume_constant_result, disable,  # noqa: F401
                        is_compiling, list_backends, reset)
from . import config  # noqa: F401

__all__ = ["reset", "disable", "allow_in_graph", "assume_constant_result", "is_compiling",
           "list_backends", "mark_dynamic", "mark_static", "maybe_mark_dynamic",
           "graph_break", "optimize", "run", "disallow_in_graph", "forbid_in_graph",
           "reset_code_caches", "config"]


def mark_dynamic(t, index, *, min=None, max=None, specialize_on=None):
    """Mark dimension `index` of `t` as dynamic for the compiler: nothing to do in ember."""


def maybe_mark_dynamic(t, index):
    """As mark_dynamic: nothing to do in ember."""


def mark_static(t, index=None):
    """Mark a dimension (or a module) static for the compiler: nothing to do in ember."""


def graph_break(msg=""):
    """Split the compiled graph here: code outside a compiler runs on, as in PyTorch."""


def reset_code_caches():
    """Drop compiled code: ember keeps none."""


def disallow_in_graph(fn):
    """Keep `fn` out of compiled graphs: returned unchanged (ember compiles none)."""
    return fn


forbid_in_graph = disallow_in_graph


def optimize(backend="inductor", *, nopython=False, guard_export_fn=None, guard_fail_fn=None,
             guard_filter_fn=None, disable=False, dynamic=None, **kwargs):
    """The legacy ``torch._dynamo.optimize(backend)(fn)``: a decorator that returns `fn`
    unchanged (it runs eagerly)."""
    def decorate(fn):
        return fn
    return decorate


def run(fn=None):
    """Run `fn` without compiling it (PyTorch's run-only mode): `fn` itself."""
    if fn is None:
        return run
    return fn
