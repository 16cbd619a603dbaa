"""torch.backends.cuda: `matmul.allow_tf32` (float32 matrix products on TF32 tensor cores;
default False, as in PyTorch; tied to set_float32_matmul_precision: 'highest' is False,
'high' and 'medium' True)."""
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
