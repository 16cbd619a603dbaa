"""ember.ao (torch.ao): architecture optimization. Only the quantization namespace exists,
and its workflows raise NotImplementedError (ember has no quantized tensors)."""
from . import quantization  # noqa: F401
