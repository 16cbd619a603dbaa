"""ember.quantization (torch.quantization): PyTorch's older name for ember.ao.quantization.
The same objects; its submodules (torch.quantization.observer, .qconfig, .quantize ...)
are ember.ao.quantization's."""
import sys as _sys

from .ao import quantization as _ao_quantization

for _name in dir(_ao_quantization):
    if not _name.startswith("_"):
        globals()[_name] = getattr(_ao_quantization, _name)
__all__ = list(_ao_quantization.__all__)

# `import torch.quantization.observer` and friends reach ember.ao.quantization's modules.
for _sub in ("observer", "fake_quantize", "qconfig", "qconfig_mapping", "stubs", "quantize",
             "fuse_modules", "fuser_method_mappings", "quantization_mappings", "quantize_fx", "utils"):
    _module = _sys.modules.get(f"{_ao_quantization.__name__}.{_sub}")
    if _module is not None:
        _sys.modules[f"{__name__}.{_sub}"] = _module
del _name, _sub, _module
