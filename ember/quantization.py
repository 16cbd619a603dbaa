"""ember.quantization (torch.quantization): PyTorch's older name for ember.ao.quantization,
whose workflows raise NotImplementedError (ember has no quantized tensors)."""
from .ao.quantization import *  # noqa: F401,F403
from .ao.quantization import __all__  # noqa: F401
