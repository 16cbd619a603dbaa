"""ember.ao.nn (torch.ao.nn): fused (intrinsic), quantization-aware-training (qat) and
quantized modules."""
from . import intrinsic, qat, quantizable, quantized  # noqa: F401
from .intrinsic import quantized as _intrinsic_quantized  # noqa: F401
from .quantized.modules import conv as _quantized_conv

# The quantized convolutions fold the QAT ConvBn modules' batch norm (classes defined above).
_quantized_conv._bind_fused_classes()
_intrinsic_quantized._bind_qat()
