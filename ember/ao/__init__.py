"""ember.ao (torch.ao): architecture optimization: quantization (ember.ao.quantization) and
the fused, QAT and quantized modules (ember.ao.nn)."""
from . import quantization  # noqa: F401  (first: ember.ao.nn reads its qschemes)
from . import nn  # noqa: F401,E402
