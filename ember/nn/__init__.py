"""ember.nn: modules, functional, init and losses (torch.nn)."""
from .parameter import Parameter, Buffer, UninitializedParameter, UninitializedBuffer
from .modules import *  # noqa: F401,F403
from .modules import Module
from . import functional, init, utils
# after `utils` is bound: nn.modules' star import must not shadow nn.utils with it
from .modules import utils as _modules_utils  # noqa: E402,F401
from . import common_types, grad  # noqa: E402
from ._factory_kwargs import factory_kwargs  # noqa: E402
from . import parallel  # noqa: E402  DistributedDataParallel
from .parallel import DataParallel  # noqa: E402
from . import attention  # noqa: E402  sdpa_kernel, SDPBackend


def __getattr__(name):
    # torch.nn.quantized / intrinsic / qat / quantizable: older names of ember.ao.nn's
    # packages, loaded on first use (ember.ao imports ember.nn)
    if name in ("quantized", "intrinsic", "qat", "quantizable"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
