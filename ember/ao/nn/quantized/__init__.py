"""ember.ao.nn.quantized (torch.ao.nn.quantized): modules that compute on quantized tensors
(what ``convert`` swaps in): Quantize / DeQuantize, Linear, Conv1d/2d/3d,
ConvTranspose1d/2d/3d, ReLU6, Hardswish, ELU, LeakyReLU, Sigmoid, Softmax, PReLU,
BatchNorm2d/3d, LayerNorm, GroupNorm, InstanceNorm1d/2d/3d, Dropout, FloatFunctional /
QFunctional, Embedding and EmbeddingBag (quint8 or quint4x2 rows), the static LSTM and
MultiheadAttention (converted quantizable ones, ember.ao.nn.quantizable);
``.dynamic`` holds the dynamically quantized Linear and recurrent layers; ``.functional`` the quantized
kernels.
"""
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from .modules import LinearPackedParams  # noqa: F401
from .modules import conv as _conv
from . import dynamic  # noqa: F401,E402

__all__ = _modules_all


def __getattr__(name):
    # The quantized functional (ember/ao/nn/quantized/functional.py) is imported on first use.
    if name == "functional":
        import importlib
        return importlib.import_module(__name__ + ".functional")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
