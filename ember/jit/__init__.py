"""ember.jit (torch.jit) without a compiler: TorchScript's Python API, running eagerly.

ember has no TorchScript compiler (as ``ember.compile`` has no graph compiler), so
``script`` and ``trace`` hand back what they are given, which runs as ordinary Python
and gives the same results; each warns once per process. ``trace`` still runs the
function once on the example inputs, as PyTorch does, so that errors surface where the
program traces. The decorators (``ignore``, ``unused``, ``export``, ...) return their
function unchanged, ``fork`` runs its function at once and returns a finished Future,
and ``is_scripting()`` is False.

``load`` reads TorchScript archives written by ``torch.jit.save`` without running any
code from them: the module tree is unpickled by ember's weights-only unpickler, and the
archive's TorchScript source is parsed and run by ember's own interpreter of that Python
subset, with ember's operators (_archive.py, _code.py, _interp.py, _ops.py). ``save``
writes a module that ``load`` returned back as an archive, and a plain ember module with
TorchScript code written from its ``ember.fx`` trace (_codegen.py); real
``torch.jit.load`` reads both. A module whose trace holds a layer, function or method
outside the code generator's tables raises NotImplementedError naming it.
"""
import builtins
import contextlib
import typing
import warnings

from ..nn import Module as _Module
from ._archive import load, save
from ._error import Error
from ._script_module import Attribute, RecursiveScriptModule, ScriptModule

__all__ = ["script", "trace", "trace_module", "ignore", "unused", "export", "is_scripting",
           "is_tracing", "annotate", "Final", "Attribute", "interface", "fork", "wait",
           "Future", "ScriptModule", "ScriptFunction", "RecursiveScriptModule",
           "script_method", "script_if_tracing", "freeze", "optimize_for_inference", "save",
           "load", "Error", "optimized_execution", "fuser", "isinstance", "CompilationUnit"]

_WARNED = set()
_TRACING = [0]   # depth of trace() calls running their function


def _warn_once(what):
    if what not in _WARNED:
        _WARNED.add(what)
        warnings.warn(f"ember.jit.{what}: ember has no TorchScript compiler; the "
                      f"{'module or function' if what == 'script' else 'function'} runs "
                      f"eagerly, unchanged", UserWarning, stacklevel=3)


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """Return `obj` (a Module, function or class) unchanged; it runs eagerly."""
    if optimize is not None:
        warnings.warn("`optimize` is deprecated and has no effect. Use `with "
                      "torch.jit.optimized_execution()` instead", FutureWarning, stacklevel=2)
    _warn_once("script")
    return obj


def _run_example(func, example_inputs, example_kwarg_inputs):
    _TRACING[0] += 1
    try:
        if example_kwarg_inputs is not None:
            if not builtins.isinstance(example_kwarg_inputs, dict):
                raise RuntimeError("example_kwarg_inputs should be a dict")
            return func(**example_kwarg_inputs)
        if example_inputs is None:
            raise TypeError("'NoneType' object is not iterable")
        from .._tensor import Tensor
        if builtins.isinstance(example_inputs, (Tensor, dict)):
            example_inputs = (example_inputs,)   # a lone tensor (or dict) is one argument
        elif not builtins.isinstance(example_inputs, tuple):
            example_inputs = tuple(example_inputs)   # a list holds the arguments, as PyTorch's
        return func(*example_inputs)
    finally:
        _TRACING[0] -= 1


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None,
          check_tolerance=1e-5, strict=True, _force_outplace=False, _module_class=None,
          _compilation_unit=None, example_kwarg_inputs=None, _store_inputs=True):
    """Run `func` once on `example_inputs` (a tuple of arguments, or one tensor); ``is_
    tracing()`` is True during that run. A module comes back as a TopLevelTracedModule
    sharing its parameters (as PyTorch's; it runs the module's forward eagerly: _trace.py),
    a function unchanged."""
    _warn_once("trace")
    _run_example(func, example_inputs, example_kwarg_inputs)
    if builtins.isinstance(func, _Module) and example_kwarg_inputs is None:
        # how many inputs it was traced on: what ember.jit.save gives the saved forward
        from .._tensor import Tensor
        from ._codegen import TRACED_ARITY
        from ._trace import actual_module
        single = builtins.isinstance(example_inputs, (Tensor, dict))
        TRACED_ARITY[actual_module(func)] = 1 if single else len(tuple(example_inputs))
    from ._trace import traced
    return traced(func)


def trace_module(mod, inputs, optimize=None, check_trace=True, check_inputs=None,
                 check_tolerance=1e-5, strict=True, _force_outplace=False, _module_class=None,
                 _compilation_unit=None, example_inputs_is_kwarg=False, _store_inputs=True):
    """Run each method named in `inputs` ({method name: example inputs}) once and
    return `mod` as a TopLevelTracedModule (see ``trace``)."""
    if not builtins.isinstance(mod, _Module):
        raise AttributeError("expected torch.nn.Module as the first argument")
    if not builtins.isinstance(inputs, dict):
        raise AttributeError("expected a dictionary of (method_name, input) pairs")
    _warn_once("trace")
    for method_name, example in inputs.items():
        method = getattr(mod, method_name)
        if example_inputs_is_kwarg:
            _run_example(method, None, example)
        else:
            _run_example(method, example, None)
    from ._trace import traced
    return traced(mod)


def is_scripting():
    """False: ember never compiles, so code always runs as Python."""
    return False


def is_tracing():
    """True while ``trace`` runs its function on the example inputs."""
    return _TRACING[0] > 0


def ignore(drop=False, **kwargs):
    """Leave a function to Python (it always is in ember): returns it unchanged, used as
    ``@ignore`` or ``@ignore(drop=True)``."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    """Mark a method the compiler should skip: returned unchanged."""
    return fn


def export(fn):
    """Mark a method as a compilation entry point: returned unchanged."""
    return fn


def script_method(fn):
    return fn


def script_if_tracing(fn):
    return fn


def interface(obj):
    """Mark a class as a TorchScript interface: returned unchanged."""
    return obj


def annotate(the_type, the_value):
    """Give `the_value` a type for the compiler: returns `the_value`."""
    return the_value


Final = typing.Final


def isinstance(obj, target_type):
    """Check `obj` against a type that may be a typing container (List[int],
    Dict[str, Tensor], Optional[T], Tuple[...]), element by element. (It shadows the
    builtin in this module: the code above calls builtins.isinstance.)"""
    origin = typing.get_origin(target_type)
    args = typing.get_args(target_type)
    if origin is None:
        if target_type is typing.Any:
            return True
        return builtins.isinstance(obj, target_type)
    if origin is typing.Union:
        return any(isinstance(obj, t) for t in args)
    if origin in (list, tuple, dict):
        if not builtins.isinstance(obj, origin):
            return False
        if origin is list:
            return all(isinstance(x, args[0]) for x in obj) if args else True
        if origin is dict:
            return all(isinstance(k, args[0]) and isinstance(v, args[1])
                       for k, v in obj.items()) if args else True
        if len(args) == 2 and args[1] is Ellipsis:
            return all(isinstance(x, args[0]) for x in obj)
        return len(obj) == len(args) and all(isinstance(x, t) for x, t in zip(obj, args))
    return builtins.isinstance(obj, origin)


# torch.jit.Future is torch.futures.Future
from ..futures import Future  # noqa: E402


def fork(func, *args, **kwargs):
    """Run ``func(*args, **kwargs)`` now and return its result as a finished Future
    (PyTorch runs forked work synchronously too outside TorchScript)."""
    fut = Future()
    fut.set_result(func(*args, **kwargs))
    return fut


def wait(future):
    """The value of a Future from ``fork``."""
    return future.wait()


class ScriptFunction:
    """What ``script`` of a function returns in PyTorch; nothing in ember is one."""


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    """Return `mod`: there is no compiled graph to freeze."""
    return mod


def optimize_for_inference(mod, other_methods=None):
    """Return `mod`: there is no compiled graph to optimize."""
    return mod


class CompilationUnit:
    def __init__(self, lang=None, _frames_up=0):
        raise NotImplementedError("ember.jit.CompilationUnit: ember has no TorchScript compiler "
                                  "to compile source code with")


@contextlib.contextmanager
def optimized_execution(should_optimize):
    """A no-op context (there is no compiled execution to tune)."""
    yield


@contextlib.contextmanager
def fuser(name):
    """A no-op context (there is no fuser to choose)."""
    yield


def set_fusion_strategy(strategy):
    """Accepted and ignored; returns the strategy given (PyTorch returns the old one)."""
    return strategy


_ONEDNN_FUSION = [False]


def enable_onednn_fusion(enabled):
    """Recorded for ``onednn_fusion_enabled()``; nothing is fused (ember has no JIT)."""
    _ONEDNN_FUSION[0] = builtins.bool(enabled)


def onednn_fusion_enabled():
    """What ``enable_onednn_fusion`` last set (False at start, as PyTorch's)."""
    return _ONEDNN_FUSION[0]
