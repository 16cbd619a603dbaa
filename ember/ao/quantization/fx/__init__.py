"""ember.ao.quantization.fx (torch.ao.quantization.fx): the passes of FX graph mode
quantization: fuse (fuse.py), prepare (prepare.py: observer insertion), convert
(convert.py, lower.py), with the tracer and the custom configs they read."""
from .convert import convert  # noqa: F401
from .fuse import fuse  # noqa: F401
from .prepare import prepare  # noqa: F401

__all__ = ["convert", "fuse", "prepare"]
