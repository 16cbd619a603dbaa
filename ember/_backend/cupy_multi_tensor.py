"""Multi-tensor optimizer steps on CUDA: one launch updates up to `slots(name)` parameters
(PyTorch's multi_tensor_apply), where the kernels of ember/_backend/cupy_kernels.py take
one launch per parameter. A training step's optimizer then costs a launch or two instead of
one per parameter; on a GPU each launch is 20-60 us of host time.

Each kernel here is generated from the per-parameter ElementwiseKernel of the same name
(cupy_kernels._SOURCES): its body is pasted unchanged into a loop that binds the element
references as ElementwiseKernel does (`const T& g = g_s[i]; T& x = x_s[i];`), so a
parameter gets the same arithmetic in the same order whichever kernel updates it.

A launch takes its parameters' arrays as separate kernel arguments, slot by slot
(g_0 .. g_{K-1}, x_0 .., then the sizes n_0 .., then the scalars), so nothing is uploaded
per step (gradients are new arrays every step). The grid is the slots' blocks one after
another: slot k has min(ceil(n_k / 256), SLOT_BLOCKS) blocks, and a block finds its slot by
adding up the same counts; an unused slot repeats slot 0's arrays with n = 0 (no blocks).
`slots(name)` is what fits in 64 kernel parameters: the CPU emulator's limit
(tests/cuda_emu.py); CUDA's own (4 KB) is far above it."""
import numpy as np

from . import MULTI_GPU
from .cupy_kernels import _SOURCES, INDEX_LIMIT, MAX_BLOCKS, template_kernel

THREADS = 256
# a slot's most blocks: the stride of its grid-stride loop (at most 2**24) keeps 32-bit
# indices below 2**31 for sizes under INDEX_LIMIT
SLOT_BLOCKS = MAX_BLOCKS
_MAX_PARAMS = 64
_MAX_SLOTS = 16

# kernel name -> (arrays it reads, arrays it writes), per parameter, in argument order; the
# other input parameters of the _SOURCES entry are the scalars every slot shares
_ARRAYS = {
    "adam": (("g",), ("x", "m", "v")),
    "adam_amsgrad": (("g",), ("x", "m", "v", "vmax")),
    "sgd": (("g",), ("x",)),
    "sgd_momentum": (("g",), ("x", "buf")),
}


def _names(spec):
    """[(type, name)] of a CuPy parameter list ("T g, bool nesterov")."""
    return [tuple(p.split()) for p in filter(None, (s.strip() for s in spec.split(",")))]


def _scalars(name):
    read, _ = _ARRAYS[name]
    return [(t, n) for t, n in _names(_SOURCES[name][0]) if n not in read]


def slots(name):
    """How many parameters one launch of kernel `name` updates."""
    read, written = _ARRAYS[name]
    per_slot = len(read) + len(written) + 1          # the arrays and the size
    return min(_MAX_SLOTS, (_MAX_PARAMS - len(_scalars(name))) // per_slot)


def _kernel_source(name):
    """The multi-tensor kernel `multi_<name>` (a template on T) around _SOURCES[name]'s
    body."""
    read, written = _ARRAYS[name]
    _, params_out, body = _SOURCES[name]
    assert [n for _, n in _names(params_out)] == list(written), name
    k = slots(name)
    arrays = [("const T*", a) for a in read] + [("T*", a) for a in written]
    args = [f"{t} {a}_{s}" for t, a in arrays for s in range(k)]
    args += [f"int n_{s}" for s in range(k)]
    args += [f"{t} {n}" for t, n in _scalars(name)]
    lists = [f"    {t} const {a}_[{k}] = {{{', '.join(f'{a}_{s}' for s in range(k))}}};"
             for t, a in arrays]
    lists.append(f"    const int n_[{k}] = {{{', '.join(f'n_{s}' for s in range(k))}}};")
    picks = "\n".join(f"    {t} {a}_s = {a}_0;" for t, a in arrays)
    chosen = " ".join(f"{a}_s = {a}_[k];" for _, a in arrays)
    refs = "\n".join([f"        const T& {a} = {a}_s[i];" for a in read] +
                     [f"        T& {a} = {a}_s[i];" for a in written])
    return f"""
template<typename T>
__global__ void multi_{name}({', '.join(args)}) {{
{chr(10).join(lists)}
{picks}
    int first = 0, blocks = 0, n = 0;
    int start = 0;
#pragma unroll
    for (int k = 0; k < {k}; ++k) {{
        const int b = slot_blocks(n_[k]);
        if ((int)blockIdx.x >= start && (int)blockIdx.x < start + b) {{
            first = start; blocks = b; n = n_[k];
            {chosen}
        }}
        start += b;
    }}
    for (int i = ((int)blockIdx.x - first) * MT_THREADS + (int)threadIdx.x; i < n;
         i += blocks * MT_THREADS) {{
{refs}
#line 1 "multi_{name}: the body of ember_{name} (cupy_kernels._SOURCES)"
{body}
    }}
}}
"""


# (MT_THREADS and MT_MAX_BLOCKS are defined by the build options: THREADS, SLOT_BLOCKS)
SOURCE = """
// a slot's blocks for n elements: one element per thread, at most MT_MAX_BLOCKS blocks (a
// grid-stride loop beyond)
__device__ __forceinline__ int slot_blocks(int n) {
    const int b = (n + MT_THREADS - 1) / MT_THREADS;
    return b < MT_MAX_BLOCKS ? b : MT_MAX_BLOCKS;
}
""" + "".join(_kernel_source(name) for name in _ARRAYS)

NAMES = tuple(f"multi_{name}" for name in _ARRAYS)
_SLOTS = {name: slots(name) for name in _ARRAYS}
_MODULE = {}


def options():
    """The compiler options SOURCE is built with."""
    return ("-std=c++14", f"-DMT_THREADS={THREADS}", f"-DMT_MAX_BLOCKS={SLOT_BLOCKS}")


def _function(name, dtype):
    """The kernel multi_<name> for `dtype` (float32/64), or None (other dtypes; no kernels:
    the CPU fake without g++)."""
    return template_kernel(_MODULE, SOURCE, NAMES, options(), f"multi_{name}", dtype)


def fits(x, *others):
    """Whether parameter array `x` (float32/64: the caller checks) and its gradient and
    state arrays `others` can go in a slot: all C-contiguous, of x's size and dtype,
    0 < size < INDEX_LIMIT. (An empty parameter has nothing to update: leave it out.)"""
    n, dtype = x.size, x.dtype
    if not 0 < n < INDEX_LIMIT or not x.flags.c_contiguous:
        return False
    for a in others:
        if a.size != n or a.dtype != dtype or not a.flags.c_contiguous:
            return False
    return True


def _blocks(n):
    """A slot's blocks for n elements, as slot_blocks() counts them in the kernel."""
    return min((n + THREADS - 1) // THREADS, SLOT_BLOCKS)


_i32 = np.int32


def launch(name, params, scalars, device=0):
    """Run kernel `name` over `params`, a list of tuples of arrays in the kernel's order
    (_ARRAYS: the gradient, then the parameter and its state), all of one dtype on GPU
    `device`, each tuple passing `fits`; `scalars`: the kernel's scalars, of the
    parameters' dtype (bool for a bool). One launch per slots(name) parameters. False
    (nothing run) where the kernel cannot be built."""
    fn = _function(name, params[0][0].dtype)
    if fn is None:
        return False
    if MULTI_GPU[0]:
        import cupy
        with cupy.cuda.Device(device):
            _launch(fn, name, params, scalars)
    else:
        _launch(fn, name, params, scalars)
    return True


def _launch(fn, name, params, scalars):
    k = _SLOTS[name]
    roles = range(len(params[0]))
    for c in range(0, len(params), k):
        chunk = params[c:c + k]
        sizes = [p[0].size for p in chunk]
        pad = k - len(chunk)
        chunk = chunk + [chunk[0]] * pad
        args = [p[r] for r in roles for p in chunk]
        args += [_i32(n) for n in sizes] + [_i32(0)] * pad
        args += scalars
        fn((sum(_blocks(n) for n in sizes),), (THREADS,), tuple(args))
