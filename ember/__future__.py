"""torch.__future__: switches for how ``nn.Module`` conversions (``.to()``, ``.float()``,
``.cpu()``, ``to_empty()`` ...) and ``load_state_dict`` treat a module's parameters.

- overwrite (default False): a conversion makes new Parameter objects instead of changing
  the existing ones' data in place (references held elsewhere, by an optimizer, go stale).
- swap (default False): a conversion swaps the converted tensor into the existing
  Parameter object with ``utils.swap_tensors`` (its class, attributes and data change, its
  identity stays), and ``load_state_dict`` swaps in ``param.module_load(value, assign)``.
"""

_overwrite_module_params_on_conversion = False
_swap_module_params_on_conversion = False

__all__ = ["set_overwrite_module_params_on_conversion",
           "get_overwrite_module_params_on_conversion",
           "set_swap_module_params_on_conversion", "get_swap_module_params_on_conversion"]


def set_overwrite_module_params_on_conversion(value: bool) -> None:
    """Make nn.Module conversions assign new Parameter objects (``value=True``)."""
    global _overwrite_module_params_on_conversion
    _overwrite_module_params_on_conversion = value


def get_overwrite_module_params_on_conversion() -> bool:
    return _overwrite_module_params_on_conversion


def set_swap_module_params_on_conversion(value: bool) -> None:
    """Make nn.Module conversions and load_state_dict swap tensors into the existing
    Parameter objects with ``ember.utils.swap_tensors`` (``value=True``); it takes
    precedence over the overwrite switch."""
    global _swap_module_params_on_conversion
    _swap_module_params_on_conversion = value


def get_swap_module_params_on_conversion() -> bool:
    return _swap_module_params_on_conversion
