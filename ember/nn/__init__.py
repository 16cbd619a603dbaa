"""ember.nn: modules, functional, init and losses (torch.nn)."""
from .parameter import Parameter, Buffer, UninitializedParameter, UninitializedBuffer
from .modules import *  # noqa: F401,F403
from .modules import Module
from . import functional, init, utils
from . import parallel  # noqa: E402  DistributedDataParallel
from .parallel import DataParallel  # noqa: E402
from . import attention  # noqa: E402  sdpa_kernel, SDPBackend
