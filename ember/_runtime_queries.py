"""torch-level questions about the build and the runtime, answered for ember: which
module serves a device, whether a tensor is distributed, what the build has (no Vulkan,
no C++ ABI), and the global anomaly-mode switch."""
from ._tensor import Tensor
from ._device import device as _device
from .autograd import anomaly as _anomaly

__all__ = ["get_device_module", "is_distributed", "compiled_with_cxx11_abi",
           "is_vulkan_available", "set_anomaly_enabled", "to_dlpack"]


def get_device_module(device=None):
    """The module of a device type (ember.cuda for 'cuda' or cuda:1, ember.cpu for 'cpu');
    with no device, the current accelerator's (CUDA when available), else ember.cpu."""
    import importlib
    if device is None:
        from . import cuda
        return cuda if cuda.is_available() else importlib.import_module("ember.cpu")
    if isinstance(device, str):
        device = _device(device)
    elif not isinstance(device, _device):
        raise RuntimeError(f"Invalid value of device '{device}', expect torch.device, str, or "
                           f"None")
    try:
        return importlib.import_module("ember." + device.type)
    except ImportError:
        raise RuntimeError(f"Device '{device.type}' does not have a corresponding module "
                           f"registered as 'torch.{device.type}'.") from None


def is_distributed(input):
    """False: ember tensors are never sharded."""
    if not isinstance(input, Tensor):
        raise TypeError(f"is_distributed(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return False


def compiled_with_cxx11_abi():
    """False: ember has no compiled C++ library to link extensions against."""
    return False


def is_vulkan_available():
    return False


def set_anomaly_enabled(enabled, check_nan=True):
    """Turn anomaly detection on or off for the whole process (what detect_anomaly does
    for a block)."""
    _anomaly._ENABLED[0], _anomaly._ENABLED[1] = bool(enabled), bool(check_nan)


def to_dlpack(tensor):
    """The DLPack capsule of `tensor`'s memory (of its values: autograd state is not
    exported)."""
    from .utils.dlpack import to_dlpack as _to_dlpack
    return _to_dlpack(tensor.detach())


# what the build has, as torch.has_*: LAPACK (NumPy's linalg) and FFTs, no MKL or OpenMP
has_lapack = True
has_spectral = True
has_mkl = False
has_openmp = False


def cudnn_is_acceptable(tensor):
    """Whether cuDNN could take this tensor: never (ember calls no cuDNN kernel)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"cudnn_is_acceptable(): argument 'self' (position 1) must be Tensor, "
                        f"not {type(tensor).__name__}")
    return False


__all__ += ["has_lapack", "has_spectral", "has_mkl", "has_openmp", "cudnn_is_acceptable"]
