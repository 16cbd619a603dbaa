"""ember.ao.quantization (torch.ao.quantization, also reachable as torch.quantization):
PyTorch's eager-mode quantization workflows.

- observers (observer.py) and fake-quantizers (fake_quantize.py), with PyTorch's qparams
  bit for bit;
- QConfig / QConfigMapping and the backends' default qconfigs (qconfig.py,
  qconfig_mapping.py);
- QuantStub / DeQuantStub / QuantWrapper (stubs.py), fuse_modules / fuse_modules_qat
  (fuse_modules.py, fuser_method_mappings.py);
- prepare / prepare_qat / convert / quantize / quantize_dynamic / quantize_qat
  (quantize.py), with the module mappings of quantization_mappings.py; the quantized
  modules they produce live in ember.ao.nn.quantized.

FX graph mode quantization lives in quantize_fx.py (prepare_fx, prepare_qat_fx, convert_fx,
convert_to_reference_fx, fuse_fx; the passes in fx/, the backends' patterns in
backend_config/). The PT2E flow and the TorchScript (``*_jit``) workflows are not built:
they raise NotImplementedError.
"""
from . import _qscheme  # noqa: F401
from .fake_quantize import *  # noqa: F401,F403
from .fake_quantize import __all__ as _fake_quantize_all
from .fuse_modules import *  # noqa: F401,F403
from .fuse_modules import __all__ as _fuse_modules_all
from .fuser_method_mappings import *  # noqa: F401,F403
from .fuser_method_mappings import __all__ as _fuser_all
from .fuser_method_mappings import get_combined_dict  # noqa: F401
from .observer import *  # noqa: F401,F403
from .observer import __all__ as _observer_all
from .qconfig import *  # noqa: F401,F403
from .qconfig import __all__ as _qconfig_all
from .qconfig_mapping import *  # noqa: F401,F403
from .qconfig_mapping import __all__ as _qconfig_mapping_all
from .quantization_mappings import *  # noqa: F401,F403
from .quantization_mappings import __all__ as _mappings_all
from .quantize import *  # noqa: F401,F403
from .quantize import __all__ as _quantize_all
from .stubs import *  # noqa: F401,F403
from .stubs import __all__ as _stubs_all
from . import quantize_fx, utils  # noqa: F401
from .quant_type import QuantType  # noqa: F401

_mappings_all = [n for n in _mappings_all if not n.startswith("DEFAULT_")]

__all__ = (_observer_all + _fake_quantize_all + _qconfig_all + _qconfig_mapping_all
           + _stubs_all + _fuse_modules_all + _fuser_all + _mappings_all + _quantize_all
           + ["default_eval_fn", "QuantType"])
__all__.remove("fuse_known_modules")   # importable, but not in torch's namespace


def default_eval_fn(model, calib_data):
    """Run model on each (data, target) of calib_data (a calibration run_fn for quantize)."""
    for data, _target in calib_data:
        model(data)


_JIT_NAMES = ("convert_dynamic_jit", "convert_jit", "fuse_conv_bn_jit", "prepare_dynamic_jit",
              "prepare_jit", "quantize_dynamic_jit", "quantize_jit", "script_qconfig",
              "script_qconfig_dict")


def _refusing_jit(name):
    def refuse(*args, **kwargs):
        raise NotImplementedError(f"torch.ao.quantization.{name}: TorchScript graph mode "
                                  f"quantization is not built in ember; use eager mode")
    refuse.__name__ = refuse.__qualname__ = name
    return refuse


for _name in _JIT_NAMES:
    globals()[_name] = _refusing_jit(_name)
del _name
