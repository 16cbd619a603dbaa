"""ember.ao.nn.quantized.functional (torch.ao.nn.quantized.functional): quantized linear,
convolutions, pooling, resampling and activations. The kernels live in
ember/_ops/quantized_functional.py and ember/_ops/quantized_ops.py."""
from ...._ops.quantized_functional import *  # noqa: F401,F403
from ...._ops.quantized_functional import __all__  # noqa: F401
