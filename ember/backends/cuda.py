"""torch.backends.cuda: `matmul.allow_tf32` (float32 matrix products on TF32 tensor cores;
default False, as in PyTorch; tied to set_float32_matmul_precision: 'highest' is False,
'high' and 'medium' True), and the attention-kernel switches (enable_flash_sdp ...,
sdp_kernel), which ember records but which choose nothing: it has one attention kernel."""
import contextlib as _contextlib
import warnings as _warnings

from .._backend import cupy_kernels as _kernels
from .. import _threads


class _Matmul:
    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True

    @property
    def allow_tf32(self):
        return _kernels.TF32["matmul"]

    @allow_tf32.setter
    def allow_tf32(self, value):
        _kernels.TF32["matmul"] = bool(value)
        _threads._STATE["matmul_precision"] = "high" if value else "highest"


matmul = _Matmul()


def is_built():
    """Whether CUDA can be used (CuPy is installed)."""
    from .._backend import cupy_backend
    return cupy_backend.xp is not None


# Which scaled_dot_product_attention kernels PyTorch may choose. ember has one
# implementation (the math one, on every device), so these record the choice only;
# torch.nn.attention.sdpa_kernel sets them too.
_SDP = {"cudnn": True, "flash": True, "mem_efficient": True, "math": True, "overrideable": True}


def enable_flash_sdp(enabled):
    _SDP["flash"] = bool(enabled)


def flash_sdp_enabled():
    return _SDP["flash"]


def enable_mem_efficient_sdp(enabled):
    _SDP["mem_efficient"] = bool(enabled)


def mem_efficient_sdp_enabled():
    return _SDP["mem_efficient"]


def enable_math_sdp(enabled):
    _SDP["math"] = bool(enabled)


def math_sdp_enabled():
    return _SDP["math"]


def enable_cudnn_sdp(enabled):
    _SDP["cudnn"] = bool(enabled)


def cudnn_sdp_enabled():
    return _SDP["cudnn"]


def is_flash_attention_available():
    """False: ember has no flash-attention kernel (attention runs the math form)."""
    return False


@_contextlib.contextmanager
def sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True,
               enable_cudnn=True):
    """Deprecated in PyTorch for torch.nn.attention.sdpa_kernel: within the block, the
    attention kernels allowed are those enabled here (recorded only, see _SDP)."""
    _warnings.warn("`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this "
                   "context manager will be removed. Please see "
                   "`torch.nn.attention.sdpa_kernel()` for the new context manager, with "
                   "updated signature.", FutureWarning, stacklevel=3)
    previous = dict(_SDP)
    _SDP.update(flash=bool(enable_flash), math=bool(enable_math),
                mem_efficient=bool(enable_mem_efficient), cudnn=bool(enable_cudnn))
    try:
        yield {}
    finally:
        _SDP.update(previous)
