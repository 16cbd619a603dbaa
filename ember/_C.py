"""torch._C's few Python-visible names that programs use directly: the context managers
that turn the __torch_function__ protocol off (ember/_torch_function.py), and Generator
(defined in ember/_random.py; its class lives here, as torch._C.Generator does)."""
from ._torch_function import (DisableTorchFunction, DisableTorchFunctionSubclass,  # noqa: F401
                              _disabled_torch_function_impl)
from ._random import Generator  # noqa: F401,E402


def __getattr__(name):
    # (the dispatch module is imported with ember.utils, after this one)
    if name == "_LinAlgError":   # torch.linalg.LinAlgError's own name and home
        from ._ops.linalg_solvers import LinAlgError
        return LinAlgError
    if name == "_DisableTorchDispatch":
        from .utils._python_dispatch import _DisableTorchDispatch
        return _DisableTorchDispatch
    raise AttributeError(f"module 'ember._C' has no attribute '{name}'")
