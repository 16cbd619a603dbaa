"""torch.ao.quantization.quantize_fx (FX graph mode quantization): not built in ember.
Use the eager-mode workflow (prepare / convert, prepare_qat, quantize_dynamic)."""

__all__ = ["fuse_fx", "prepare_fx", "prepare_qat_fx", "convert_fx", "convert_to_reference_fx"]


def _refusing(name):
    def refuse(*args, **kwargs):
        raise NotImplementedError(
            f"torch.ao.quantization.quantize_fx.{name}: FX graph mode quantization is not "
            f"built in ember; use eager mode (fuse_modules, prepare/convert, prepare_qat, "
            f"quantize_dynamic)")
    refuse.__name__ = refuse.__qualname__ = name
    return refuse


for _name in __all__:
    globals()[_name] = _refusing(_name)
del _name
