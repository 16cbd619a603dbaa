"""ember.ao.nn.intrinsic (torch.ao.nn.intrinsic): fused modules; ``.qat`` their
quantization-aware-training versions, ``.quantized`` their quantized versions."""
from .modules import *  # noqa: F401,F403
from .modules import __all__, _FusedModule  # noqa: F401
from . import qat  # noqa: F401,E402
