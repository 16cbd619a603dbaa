"""ember.ao.nn.intrinsic.quantized.dynamic: LinearReLU with dynamically quantized weights."""
from ember import nn

from ember.ao.nn.intrinsic.modules import fused as nni
from ember.ao.nn.quantized.dynamic.modules import linear as _dynamic_linear

__all__ = ["LinearReLU"]


class LinearReLU(_dynamic_linear.Linear):
    """relu(linear_dynamic(x)) (float in, float out)."""

    _FLOAT_MODULE = nni.LinearReLU

    def forward(self, x):
        return nn.functional.relu(super().forward(x))

    def _get_name(self):
        return "DynamicQuantizedLinearReLU"
