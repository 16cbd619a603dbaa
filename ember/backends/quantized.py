"""torch.backends.quantized: the quantized engine (``engine``: 'x86' by default; 'fbgemm',
'qnnpack', 'onednn' may be set, anything else is refused as PyTorch refuses it).

ember runs one set of quantized kernels, written to give the integers of PyTorch's x86 /
fbgemm engines; the engine setting is recorded (programs read it back) but does not change
ember's arithmetic (PyTorch's qnnpack kernels round some results differently)."""
import sys
import types

_SUPPORTED_ENGINES = ["qnnpack", "onednn", "x86", "fbgemm"]


class _QuantizedModule(types.ModuleType):
    """The module object, whose ``engine`` attribute checks what is set."""

    _engine = "x86"

    @property
    def engine(self):
        return self._engine

    @engine.setter
    def engine(self, value):
        if value not in _SUPPORTED_ENGINES:
            if value in ("none", None):
                raise RuntimeError("quantized engine NoQEngine is not supported")
            raise RuntimeError(f"{value} is not a valid value for quantized engine")
        type(self)._engine = value

    @property
    def supported_engines(self):
        return list(_SUPPORTED_ENGINES)


sys.modules[__name__].__class__ = _QuantizedModule
