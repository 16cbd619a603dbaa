from .conv_fused import *  # noqa: F401,F403
from .conv_fused import __all__ as _conv_all
from .linear_fused import LinearBn1d, LinearReLU

__all__ = _conv_all + ["LinearReLU", "LinearBn1d"]
