"""ember.ao.quantization (torch.ao.quantization, also reachable as torch.quantization):
PyTorch's eager-mode quantization workflows.

- observers (observer.py) and fake-quantizers (fake_quantize.py), bit-equal to PyTorch's
  qparams;
- QConfig / QConfigMapping and the backends' default qconfigs (qconfig.py,
  qconfig_mapping.py);
- QuantStub / DeQuantStub / QuantWrapper (stubs.py), fuse_modules (fuse_modules.py);
- prepare / prepare_qat / convert / quantize / quantize_dynamic / quantize_qat
  (quantize.py), with the module mappings of quantization_mappings.py.

FX graph mode (prepare_fx, convert_fx) and the PT2E flow are not built: they raise
NotImplementedError.
"""
from . import _qscheme
from .fake_quantize import *  # noqa: F401,F403
from .fake_quantize import __all__ as _fake_quantize_all
from .observer import *  # noqa: F401,F403
from .observer import __all__ as _observer_all
from .qconfig import *  # noqa: F401,F403
from .qconfig import __all__ as _qconfig_all

_NOT_BUILT = ["quantize_dynamic", "quantize", "quantize_qat", "prepare", "prepare_qat",
              "convert", "fuse_modules", "fuse_modules_qat", "get_default_qconfig_mapping",
              "QConfigMapping", "QuantStub", "DeQuantStub", "QuantWrapper"]

__all__ = _observer_all + _fake_quantize_all + _qconfig_all


def _refusing_function(name):
    def refuse(*args, **kwargs):
        raise NotImplementedError(f"torch.ao.quantization.{name} is not built in ember yet (no quantized tensors)")
    refuse.__name__ = refuse.__qualname__ = name
    return refuse


for _name in _NOT_BUILT:
    if _name not in globals():
        globals()[_name] = _refusing_function(_name)
del _name
