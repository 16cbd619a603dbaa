"""ember: PyTorch's API on NumPy (CPU) and CuPy (CUDA).

``import ember as torch`` and ordinary PyTorch programs run unchanged. This module is
the torch namespace; the code lives in the private modules it re-exports.
"""
__version__ = "0.1.0"

import os as _os

# OpenBLAS's idle worker threads spin 2^28 cycles (~0.1 s) after every threaded GEMM,
# taking the second core from ember's own helper thread (conv, pooling, Adam); 2^20 cycles
# (~0.4 ms) still covers the gaps between back-to-back GEMMs (LSTM steps: 2^4 made them
# 1.5x slower). OpenBLAS reads this once, when NumPy loads it: a program that imports
# NumPy before ember keeps its own setting (set the variable yourself then). Measured with
# `python -m bench`, 2 cores: cnn_train 1.53x torch's wall time -> 0.98x.
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "20")

from . import _dtype
from ._dtype import *  # noqa: F401,F403  dtypes, promotion, finfo/iinfo
from ._device import device
from ._tensor import (Tensor, Size, FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor,
                      ByteTensor, CharTensor, ShortTensor, IntTensor, LongTensor, BoolTensor)
from . import _torch_function  # noqa: F401  (Tensor.__torch_function__, the protocol's hook)
from ._random import (Generator, manual_seed, seed, initial_seed, get_rng_state, set_rng_state,
                      default_generator)
from ._printing import set_printoptions, get_printoptions
from .autograd.grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode,
                                 is_grad_enabled, is_inference_mode_enabled)
from .autograd.anomaly import is_anomaly_enabled, is_anomaly_check_nan_enabled
from . import autograd
from . import _random as random  # torch.random: manual_seed, fork_rng, get_rng_state ...
import sys as _sys
_sys.modules[__name__ + ".random"] = random   # `from torch.random import fork_rng`
from . import cuda
from ._streams import Stream, Event  # noqa: E402  (torch.Stream, torch.Event)
from .cuda import OutOfMemoryError, AcceleratorError  # noqa: E402  (torch's device errors)

# the op library: each family re-exports its public functions
from ._ops import (conversion as _conversion, pointwise as _pointwise,
                   reduction as _reduction, shape as _shape, joining as _joining,
                   indexing as _indexing, linalg as _linalg, creation as _creation)
from ._ops.creation import *  # noqa: F401,F403
from ._ops.conversion import *  # noqa: F401,F403
from ._ops.pointwise import *  # noqa: F401,F403
from ._ops.pointwise_more import *  # noqa: F401,F403
from ._ops.reduction import *  # noqa: F401,F403
from ._ops.reduction import return_types  # noqa: F401
from ._ops.vector_norms import *  # noqa: F401,F403
from ._ops.cumulative import *  # noqa: F401,F403
from ._ops.shape import *  # noqa: F401,F403
from ._ops.joining import *  # noqa: F401,F403
from ._ops.rearrange import *  # noqa: F401,F403
from ._ops.indexing import *  # noqa: F401,F403
from ._ops.scatter_gather import *  # noqa: F401,F403
from ._ops.sorting import *  # noqa: F401,F403
from ._ops.linalg import *  # noqa: F401,F403
from ._ops.einsum import *  # noqa: F401,F403
from ._ops.linalg_solvers import *  # noqa: F401,F403
from ._ops.linalg_more import *  # noqa: F401,F403
from ._ops.linalg_householder import *  # noqa: F401,F403
from ._ops.fold import *  # noqa: F401,F403
from ._ops.misc import *  # noqa: F401,F403
from ._ops.index_generators import *  # noqa: F401,F403
from ._ops.integration import *  # noqa: F401,F403
from ._ops.copy_variants import *  # noqa: F401,F403
from ._ops.quantize import *  # noqa: F401,F403  (fake quantization; no quantized tensors)
from ._ops.finite_differences import *  # noqa: F401,F403
from ._ops.statistics import *  # noqa: F401,F403
from ._ops.batch_norm_parts import *  # noqa: F401,F403  batch_norm_stats ... (SyncBatchNorm's)
from ._ops.qparams_search import *  # noqa: F401,F403  choose_qparams_optimized
from ._ops.windows import *  # noqa: F401,F403
from ._ops.spectral import *  # noqa: F401,F403
from ._ops.special import *  # noqa: F401,F403
from ._ops.complex_ops import *  # noqa: F401,F403
from ._ops.inplace_aliases import *  # noqa: F401,F403  torch.sin_(x) ...: x.sin_()
from ._ops.deprecated import *  # noqa: F401,F403  frobenius_norm ...; removed solve, eig ... raise
from ._ops.segment_reduce import *  # noqa: F401,F403
from ._ops.foreach import *  # noqa: F401,F403  torch._foreach_add ... (multi-tensor ops)
from ._ops.linalg_lowrank import *  # noqa: F401,F403  svd_lowrank, pca_lowrank, lobpcg
from . import special, fft  # noqa: F401
from . import signal  # noqa: F401
from ._threads import *  # noqa: F401,F403
from ._autocast import *  # noqa: F401,F403  autocast state: is_autocast_enabled, get_autocast_dtype ...
from . import amp  # noqa: F401
from . import backends  # noqa: F401
from .amp import autocast  # noqa: F401
from . import linalg  # noqa: F401


class layout:
    """How a tensor's elements are stored (``torch.layout``): strided (dense) or a sparse
    scheme. One object per layout; they compare by identity."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "ember." + self.name


class memory_format:
    """The order in which a dense tensor's dimensions are laid out (``torch.memory_format``)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "ember." + self.name


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")
jagged = layout("jagged")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")
legacy_contiguous_format = contiguous_format   # the same object, as in PyTorch

# math constants, as torch re-exports them; torch.newaxis is None, as numpy.newaxis
import math as _math  # noqa: E402
pi = _math.pi
e = _math.e
inf = _math.inf
nan = _math.nan
newaxis = None


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


def is_floating_point(input):
    return input.dtype.is_floating_point


def is_complex(input):
    return input.dtype.is_complex


def is_nonzero(input):
    if input.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return input.item() != 0

from . import nn  # noqa: E402  (nn builds on the op library above)
from ._functional_aliases import *  # noqa: E402,F401,F403  torch.softmax, torch.conv2d ...
from . import optim  # noqa: E402
from . import utils  # noqa: E402
from .utils.dlpack import from_dlpack  # noqa: E402
from . import distributed  # noqa: E402  (process groups on MPI/NCCL; mpi4py imported lazily)
from .serialization import save, load  # noqa: E402
from ._sym import *  # noqa: E402,F401,F403  sym_int, sym_max ... on Python numbers
from ._control_flow import *  # noqa: E402,F401,F403  cond, while_loop (eager)
from ._fx_assert import _assert  # noqa: E402,F401  torch._assert (traceable by ember.fx)
from ._runtime_queries import *  # noqa: E402,F401,F403  get_device_module, is_distributed ...
from ._namespace_extras import *  # noqa: E402,F401,F403  Storage, Future, fork, parse_schema ...
from . import compiler, overrides, _C  # noqa: E402,F401
from . import storage  # noqa: E402  (storages; adds Tensor.untyped_storage, set_ ...)
from .storage import (UntypedStorage, TypedStorage, is_storage, from_file,  # noqa: E402,F401
                      FloatStorage, DoubleStorage, HalfStorage, BFloat16Storage, LongStorage,
                      IntStorage, ShortStorage, CharStorage, ByteStorage, BoolStorage,
                      ComplexFloatStorage, ComplexDoubleStorage)
from ._method_out import refuse_out_keyword  # noqa: E402
refuse_out_keyword(Tensor)   # Tensor methods take no out= (after every module attached its own)


def __getattr__(name):
    # these subpackages are imported on first use, keeping `import ember` fast
    if name in ("distributions", "testing", "func", "profiler", "jit", "multiprocessing", "cpu",
                "hub", "futures", "accelerator", "__future__", "_logging", "nested",
                "_dynamo", "ao", "quantization",
                "onnx", "xpu", "mps", "types", "functional", "masked", "fx", "export",
                "quasirandom", "version"):
        import importlib
        return importlib.import_module("." + name, __name__)
    if name in ("library", "ops"):   # torch.ops.<namespace>.<op>: ember.library's ops
        import importlib
        library = importlib.import_module(".library", __name__)
        return library if name == "library" else library.ops
    if name == "Tag":   # torch.Tag: operator tags (ember.library)
        from .library import Tag
        return Tag
    if name == "GradScaler":   # torch.GradScaler is torch.amp.GradScaler
        from .amp import GradScaler
        return GradScaler
    if name in ("SymInt", "SymFloat", "SymBool"):
        from . import _sym
        return getattr(_sym, name)
    if name == "vmap":  # torch.vmap is torch.func.vmap
        from .func import vmap
        return vmap
    if name == "fused_moving_avg_obs_fake_quant":   # the fused QAT fake-quantizer's op
        from .ao.quantization.fake_quantize import fused_moving_avg_obs_fake_quant
        return fused_moving_avg_obs_fake_quant
    raise AttributeError(f"module 'ember' has no attribute '{name}'")

# sparse tensors (COO, CSR ...); imported last, as it gives the sparse tensor classes a
# refusing version of every Tensor method the op modules above have attached
from . import sparse  # noqa: E402
from .sparse import (sparse_coo_tensor, sparse_csr_tensor, sparse_csc_tensor,  # noqa: E402,F401
                     sparse_bsr_tensor, sparse_bsc_tensor, sparse_compressed_tensor, smm, hspmm,
                     _sparse_coo_tensor_unsafe, mm as spmm)
sparse._attach()
from .sparse._extra import *  # noqa: E402,F401,F403  sspaddmm, dsmm, crow_indices_copy ...

# quantized tensors (quantize_per_tensor ...): a Tensor subclass whose methods without a
# quantized kernel refuse, as the sparse classes' do (ember/_quantized.py)
from ._quantized import *  # noqa: E402,F401,F403
from ._quantized_creation import *  # noqa: E402,F401,F403
from . import _quantized  # noqa: E402
_quantized.attach()

# autocast's op policy goes in front of the public functions of the ops it names when
# autocast is first turned on (ember/_autocast.py install_entry_points)

# NumPy's parameter names (torch.sum(x, axis=0), x.mean(1, keepdims=True)), once every
# public function and Tensor method is in place
from ._numpy_aliases import accept_numpy_names  # noqa: E402
accept_numpy_names()

# every public function picklable by reference (factory-made and wrapped ones, the
# NumPy-name fronts above too): last, once every public function is in place
from ._pickle_names import name_public_functions  # noqa: E402
name_public_functions()

# the Tensor class is named ember.Tensor, as torch's is torch.Tensor (type(t) prints
# <class 'torch.Tensor'> under `import ember as torch`); pickle finds it there too
Tensor.__module__ = "ember"
