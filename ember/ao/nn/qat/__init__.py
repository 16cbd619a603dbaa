"""ember.ao.nn.qat (torch.ao.nn.qat): modules for quantization-aware training, whose weights
are fake-quantized on each forward."""
from .modules import *  # noqa: F401,F403
from .modules import __all__  # noqa: F401
