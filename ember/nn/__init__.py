"""ember.nn: modules, functional, init and losses (torch.nn)."""
from .parameter import Parameter, Buffer, UninitializedParameter
from .modules import *  # noqa: F401,F403
from .modules import Module
from . import functional, init, utils
from . import parallel  # noqa: E402  DistributedDataParallel
from . import attention  # noqa: E402  sdpa_kernel, SDPBackend
