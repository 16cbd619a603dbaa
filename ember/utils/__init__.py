"""ember.utils: data loading (torch.utils.data), activation checkpointing, hooks, DLPack,
benchmark, tensorboard, swap_tensors."""
from . import data
from . import hooks
from . import dlpack   # also gives Tensor its __dlpack__ / __dlpack_device__
from ._swap_tensors import swap_tensors  # noqa: F401
from .._tensor import Tensor as _Tensor, SUBCLASS_HOOKS as _SUBCLASS_HOOKS

# The __torch_dispatch__ protocol (_python_dispatch.py) loads on first use, keeping `import
# ember` fast: when a Tensor subclass defining __torch_dispatch__ is made, a wrapper or
# subclass constructor is called, or a program imports ember.utils._python_dispatch
# (TorchDispatchMode). Loading it replaces the stand-ins below with the real functions.


def _dispatch_protocol():
    from . import _python_dispatch
    return _python_dispatch


def _load_on_dispatch_subclass(cls):
    if "__torch_dispatch__" in vars(cls):
        _SUBCLASS_HOOKS.remove(_load_on_dispatch_subclass)
        _dispatch_protocol()._on_subclass(cls)   # (the module hooks the subclasses after it)


def _lazy_make_wrapper_subclass(*args, **kwargs):
    return _dispatch_protocol()._make_wrapper_subclass(*args, **kwargs)


def _lazy_make_subclass(*args, **kwargs):
    return _dispatch_protocol()._make_subclass(*args, **kwargs)


def _lazy_torch_dispatch(cls, func, types, args=(), kwargs=None):
    return _dispatch_protocol()._default_torch_dispatch(cls, func, types, args, kwargs)


if "_make_wrapper_subclass" not in vars(_Tensor):   # (not yet loaded)
    _SUBCLASS_HOOKS.insert(0, _load_on_dispatch_subclass)
    _Tensor._make_wrapper_subclass = staticmethod(_lazy_make_wrapper_subclass)
    _Tensor._make_subclass = staticmethod(_lazy_make_subclass)
    _Tensor.__torch_dispatch__ = classmethod(_lazy_torch_dispatch)


def __getattr__(name):
    # benchmark, checkpoint, tensorboard and model_zoo are imported on first use, keeping
    # `import ember` fast
    if name in ("benchmark", "checkpoint", "tensorboard", "model_zoo", "flop_counter",
                "module_tracker", "_python_dispatch"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'ember.utils' has no attribute '{name}'")
