"""torch._dynamo.config: settings read by PyTorch's graph capture. ember captures no
graphs, so they change nothing; they are kept so that programs setting them (e.g.
``suppress_errors = True``) run, and an unknown name raises AttributeError as PyTorch's."""
import sys
import types

_DEFAULTS = {
    "suppress_errors": False,
    "verbose": False,
    "cache_size_limit": 8,
    "recompile_limit": 8,
    "accumulated_cache_size_limit": 256,
    "accumulated_recompile_limit": 256,
    "capture_scalar_outputs": False,
    "capture_dynamic_output_shape_ops": False,
    "automatic_dynamic_shapes": True,
    "assume_static_by_default": True,
    "optimize_ddp": True,
}


class _Config(types.ModuleType):
    def __getattr__(self, name):
        raise AttributeError(f"torch._dynamo.config.{name} does not exist")

    def __setattr__(self, name, value):
        if not name.startswith("__") and name not in _DEFAULTS:
            raise AttributeError(f"torch._dynamo.config.{name} does not exist")
        super().__setattr__(name, value)


globals().update(_DEFAULTS)
sys.modules[__name__].__class__ = _Config
