"""ember.utils: data loading (torch.utils.data), activation checkpointing, hooks, DLPack,
benchmark, tensorboard, swap_tensors."""
from . import data
from . import hooks
from . import dlpack   # also gives Tensor its __dlpack__ / __dlpack_device__
from ._swap_tensors import swap_tensors  # noqa: F401
from . import _python_dispatch  # noqa: F401  (gives Tensor its _make_wrapper_subclass)


def __getattr__(name):
    # benchmark, checkpoint, tensorboard and model_zoo are imported on first use, keeping
    # `import ember` fast
    if name in ("benchmark", "checkpoint", "tensorboard", "model_zoo", "flop_counter",
                "module_tracker"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'ember.utils' has no attribute '{name}'")
