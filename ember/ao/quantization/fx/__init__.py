"""ember.ao.quantization.fx (torch.ao.quantization.fx): the passes of FX graph mode
quantization: fuse (fuse.py), prepare (prepare.py: observer insertion), convert
(convert.py, lower.py), with the tracer and the custom configs they read.

The passes import ember.fx, whose import turns ember's __torch_function__ dispatcher on
for the process; they load on first use so that importing the custom configs (and
``import ember.ao.quantization``) leaves it off."""

__all__ = ["convert", "fuse", "prepare"]


def __getattr__(name):
    if name in __all__:
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{name}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
