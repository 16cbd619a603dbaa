"""Process-wide settings of the torch namespace: threads, default device, determinism,
matmul precision, warnings, and the compile/typename helpers.

NumPy runs its BLAS/LAPACK kernels on the thread pool of the linked BLAS library;
``set_num_threads`` resizes that pool through threadpoolctl when it is installed. The
"interop" pool of PyTorch (parallel independent ops) does not exist here: its size is
only recorded, so programs that set and read it keep working.
"""
import os
import warnings

from . import _dtype
from ._backend import parallel as _parallel
from ._device import device as _device_cls
from ._tensor import Tensor

__all__ = ["set_num_threads", "get_num_threads", "set_num_interop_threads",
           "get_num_interop_threads", "init_num_threads", "set_default_device",
           "get_default_device", "set_default_tensor_type", "set_float32_matmul_precision",
           "get_float32_matmul_precision", "use_deterministic_algorithms",
           "are_deterministic_algorithms_enabled",
           "is_deterministic_algorithms_warn_only_enabled", "set_deterministic_debug_mode",
           "get_deterministic_debug_mode", "set_warn_always", "is_warn_always_enabled",
           "set_flush_denormal", "typename", "compile"]

try:
    import threadpoolctl as _threadpoolctl
except ImportError:  # pragma: no cover - optional dependency
    _threadpoolctl = None

_STATE = {
    "num_threads": None,  # None: whatever the BLAS pool has
    "interop_threads": None,
    "matmul_precision": "highest",
    "deterministic": False,
    "deterministic_warn_only": False,
    "warn_always": False,
    "compile_warned": False,
}
_limiter = None


def _check_positive(n, fname):
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"{fname}(): argument 'int' (position 1) must be int, not "
                        f"{type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{fname} expects a positive integer")


def set_num_threads(int):
    """Set the number of threads NumPy's BLAS kernels use (through threadpoolctl)."""
    global _limiter
    _check_positive(int, "set_num_threads")
    _STATE["num_threads"] = int
    _parallel.set_threads(int)   # the elementwise pool's size
    if _threadpoolctl is not None:
        _limiter = _threadpoolctl.threadpool_limits(limits=int, user_api="blas")


def get_num_threads():
    """The number of threads of the BLAS pool (the CPU count when it cannot be asked)."""
    if _STATE["num_threads"] is not None:
        return _STATE["num_threads"]
    if _threadpoolctl is not None:
        pools = [p["num_threads"] for p in _threadpoolctl.threadpool_info()
                 if p.get("user_api") == "blas"]
        if pools:
            return max(pools)
    return os.cpu_count() or 1


def intra_op_threads():
    """How many threads an op or optimizer may split its own work over: the number given
    to set_num_threads, else OMP_NUM_THREADS when set (as PyTorch reads it), else the CPUs
    this process may run on (ember._backend.parallel.threads). Cheap (get_num_threads asks
    threadpoolctl, ~1 ms)."""
    return _parallel.threads()


def helper_thread():
    """The process's one worker thread (a one-thread executor) that conv and the optimizers
    hand half of a large job to while the calling thread runs the other half (NumPy
    releases the GIL in its loops and BLAS calls). Made anew in a forked child: the copy
    of the parent's executor there has no thread and would never run a job."""
    pid = os.getpid()
    if not _HELPER or _HELPER[0][0] != pid:
        from concurrent.futures import ThreadPoolExecutor
        _HELPER[:] = [(pid, ThreadPoolExecutor(1, thread_name_prefix="ember-helper"))]
    return _HELPER[0][1]


def run_pair(first, second):
    """first() on the helper thread while this thread runs second(), with BLAS at one
    thread (NumPy releases the GIL in its loops and BLAS calls; OpenBLAS's own two threads
    stall whenever the other core is busy). Returns both results, or None when no split can
    be had (one CPU, no threadpoolctl, or another split under way): the caller then does
    the work whole. One split at a time, so the BLAS setting each split restores is never
    another's; the elementwise splits (ember._backend.parallel) share the lock, so the
    elementwise ops inside a half run whole."""
    blas = _blas_controller()
    if blas is None or intra_op_threads() < 2 or not _PAIR.acquire(blocking=False):
        return None
    try:
        n = blas.num_threads
        blas.set_num_threads(1)  # the library's call, not threadpoolctl's limit(): ~6 vs 18 us
        try:
            job = helper_thread().submit(first)
            try:
                b = second()
            finally:
                a = job.result()
        finally:
            blas.set_num_threads(n)
    finally:
        _PAIR.release()
    return a, b


def halves(n, run):
    """run(i) over slices i of range(n): [run(0:n//2), run(n//2:n)] side by side on two
    threads (run_pair) or, when no split can be had, [run(0:n)]."""
    if n >= 2:
        both = run_pair(lambda: run(slice(0, n // 2)), lambda: run(slice(n // 2, n)))
        if both is not None:
            return list(both)
    return [run(slice(0, n))]


def _blas_controller():
    """threadpoolctl's handle on NumPy's OpenBLAS (or whichever BLAS it loaded), or None
    without threadpoolctl: then no split, since two threads of two-thread GEMMs
    oversubscribe the cores."""
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController
            libs = ThreadpoolController().select(user_api="blas").lib_controllers
        except ImportError:
            libs = []
        _BLAS.append(libs[0] if len(libs) == 1 else None)
    return _BLAS[0]


_HELPER = []
_BLAS = []
_PAIR = _parallel.BUSY


def init_num_threads():
    """Nothing to initialise: the BLAS pool starts itself."""


def set_num_interop_threads(int):
    """Record the inter-op pool size; like PyTorch, it can be set only once."""
    _check_positive(int, "set_num_interop_threads")
    if _STATE["interop_threads"] is not None:
        raise RuntimeError("Error: cannot set number of interop threads after parallel work has "
                           "started or set_num_interop_threads called")
    _STATE["interop_threads"] = int


def get_num_interop_threads():
    if _STATE["interop_threads"] is not None:
        return _STATE["interop_threads"]
    return os.cpu_count() or 1


def set_default_device(device):
    """Set the device factory functions create tensors on when given no ``device=``
    (None resets it to the CPU)."""
    from . import _device
    dev = None if device is None else _device_cls(device)
    if dev is not None and dev.type == "cuda" and dev.index is None:
        dev = _device_cls("cuda", 0)
    _device.DEFAULT[0] = None if dev is None or dev.type == "cpu" else dev


def get_default_device():
    from . import _device
    return _device.DEFAULT[0] or _device_cls("cpu")


def set_default_tensor_type(t):
    """Deprecated PyTorch API: set the default floating dtype from a tensor type
    (``ember.DoubleTensor`` or the string ``"torch.DoubleTensor"``)."""
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
                  UserWarning, stacklevel=2)
    if isinstance(t, str):
        name = t.rsplit(".", 1)[-1]
        matches = [d for d in _dtype.ALL_DTYPES if d._legacy == name]
        if not matches:
            raise TypeError(f"invalid type: '{t}'")
        dt = matches[0]
        if ".cuda." in t:
            set_default_device("cuda")
    else:
        dt = getattr(t, "_legacy_dtype", None)
        if dt is None:
            raise TypeError(f"invalid type: '{t}'")
        if t._legacy_device != "cpu":
            from ._tensor import _check_legacy_available
            _check_legacy_available(t)
            set_default_device(t._legacy_device)
    if not dt.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _dtype.set_default_dtype(dt)


def set_float32_matmul_precision(precision):
    """'highest', 'high' or 'medium'. NumPy always computes float32 matmuls in full
    float32 precision; on CUDA, 'high' and 'medium' let float32 matmuls use TF32 (as
    torch.backends.cuda.matmul.allow_tf32 = True)."""
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid float32 matmul precision: {precision}; expected one of "
                           f"'highest', 'high', 'medium'")
    _STATE["matmul_precision"] = precision
    from ._backend import cupy_kernels
    cupy_kernels.TF32["matmul"] = precision != "highest"


def get_float32_matmul_precision():
    return _STATE["matmul_precision"]


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Record the flag. Every ember CPU kernel is already deterministic; on CUDA the flag
    limits cuDNN's convolutions to its deterministic algorithms."""
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms(): argument 'mode' (position 1) must be "
                        f"bool, not {type(mode).__name__}")
    _STATE["deterministic"] = mode
    _STATE["deterministic_warn_only"] = warn_only
    from ._backend import cudnn
    cudnn.FLAGS["global_deterministic"] = mode


def are_deterministic_algorithms_enabled():
    return _STATE["deterministic"]


def is_deterministic_algorithms_warn_only_enabled():
    return _STATE["deterministic_warn_only"]


def set_deterministic_debug_mode(debug_mode):
    """0/'default', 1/'warn', 2/'error' as in PyTorch."""
    names = {"default": 0, "warn": 1, "error": 2}
    if isinstance(debug_mode, str):
        if debug_mode not in names:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, "
                               f"`error`, but got {debug_mode}")
        debug_mode = names[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got "
                           f"{debug_mode}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode():
    if not _STATE["deterministic"]:
        return 0
    return 1 if _STATE["deterministic_warn_only"] else 2


def set_warn_always(b):
    _STATE["warn_always"] = bool(b)


def is_warn_always_enabled():
    return _STATE["warn_always"]


def set_flush_denormal(mode):
    """Flushing denormals is a CPU flag NumPy does not expose: returns False (unsupported),
    as PyTorch does on CPUs without SSE3."""
    return False


def typename(obj):
    """The type name PyTorch prints: 'torch.FloatTensor' for a float32 tensor, the qualified
    name of a class or function ('torch.nn.parameter.Parameter'), else the qualified name
    of the object's class."""
    if isinstance(obj, Tensor):
        return obj.type()
    named = hasattr(obj, "__qualname__") or hasattr(obj, "__name__")
    owner = obj if named else type(obj)
    module = getattr(owner, "__module__", "") or ""
    qualname = getattr(owner, "__qualname__", None) or owner.__name__
    if module in ("", "builtins"):
        return qualname
    return f"{module}.{qualname}"


_COMPILE_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs",
                  "max-autotune")


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
            options=None, disable=False):
    """ember has no compiler: a function comes back unchanged, a module wrapped in an
    OptimizedModule (as PyTorch's: its original is ``_orig_mod``, its state_dict keys carry
    that prefix) that runs it eagerly. Usable as ``compile(fn)``, ``@compile`` and
    ``@compile(mode=...)``; warns once per process."""
    if model is None:
        def decorate(model):
            if model is None:
                raise RuntimeError("Model can't be None")
            return compile(model, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                           mode=mode, options=options, disable=disable)
        return decorate
    # PyTorch's checks, in its order: mode and options, the inductor's modes, a callable
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if backend == "inductor" and mode is not None and mode not in _COMPILE_MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: "
                           f"{', '.join(_COMPILE_MODES)}")
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    if not disable and not _STATE["compile_warned"]:
        _STATE["compile_warned"] = True
        warnings.warn("ember.compile: ember does not compile; the model runs eagerly, unchanged",
                      UserWarning, stacklevel=2)
    from .nn.modules.module import Module
    if isinstance(model, Module) and not disable:
        from ._dynamo.eval_frame import OptimizedModule
        return OptimizedModule(model)
    return model
