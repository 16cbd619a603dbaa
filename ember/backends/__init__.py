"""torch.backends: switches for the compute libraries. ember's CUDA convolutions and
matrix products read the TF32 flags (ember/_backend/cupy_kernels.py); the rest are
recorded for scripts that set them."""
from . import cpu, cuda, cudnn, mha, mkl, mkldnn, mps, openmp, opt_einsum, quantized  # noqa: F401,E501
