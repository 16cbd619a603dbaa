"""_foreach_add_/_sub_ with alpha and _foreach_lerp_ with a number weight on lists of small
tensors: one ?axpy call per tensor (fma_arrays.axpy_list_ / lerp_list_) gives torch's bits,
bumps each version once, and leaves to the other paths what it cannot take (a
non-contiguous tensor or operand, an operand that is a view of the tensor, weight 1 or
alpha 0, mixed weights)."""
import numpy as np
import pytest
import torch

import ember
from ember._ops import foreach_arrays, fma_arrays

SHAPES = [(7,), (3, 5), (1000,), (0,), (2, 2, 2), (), (33,), (64, 3)]


def _lists(lib, dtype, seed=0, count=3):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        out.append([lib.from_numpy(np.asarray(rng.standard_normal(s), dtype=dtype))
                    for s in SHAPES])
    return out


def _bits(ts):
    return [t.numpy().tobytes() for t in ts]


CALLS = {
    "add_alpha": lambda m, a, b: m._foreach_add_(a, b, alpha=-0.013),
    "sub_alpha": lambda m, a, b: m._foreach_sub_(a, b, alpha=3),
    "lerp_small": lambda m, a, b: m._foreach_lerp_(a, b, 0.1),
    "lerp_large": lambda m, a, b: m._foreach_lerp_(a, b, 0.8),
    "lerp_negative": lambda m, a, b: m._foreach_lerp_(a, b, -0.6),
    "lerp_one": lambda m, a, b: m._foreach_lerp_(a, b, 1.0),
    "add_alpha0": lambda m, a, b: m._foreach_add_(a, b, alpha=0.0),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(CALLS))
def test_direct_path_bits_like_torch(name, dtype, monkeypatch):
    taken = []
    for fname in ("axpy_list_", "lerp_list_"):
        real = getattr(foreach_arrays, fname)
        monkeypatch.setattr(foreach_arrays, fname,
                            lambda *args, real=real: taken.append(real(*args)) or taken[-1])
    got = []
    for lib in (torch, ember):
        a, b = _lists(lib, dtype, count=2)
        versions = [t._version for t in a]
        CALLS[name](lib, a, b)
        got.append((_bits(a), [t._version - v for t, v in zip(a, versions)]))
    assert got[1] == got[0]
    if fma_arrays._blas(np.dtype(dtype)) is not None:
        # weight 1 (lerp's coefficient 0) and alpha 0 go to the other paths
        assert taken == ([False] if name in ("lerp_one", "add_alpha0") else [True])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_direct_path_refuses_views_and_strides(dtype):
    results = []
    for lib in (torch, ember):
        a, b = _lists(lib, dtype, seed=1, count=2)
        base = lib.from_numpy(np.arange(40, dtype=dtype) / 7)
        # each tensor's operand is the other tensor's memory: pair by pair, in order
        lib._foreach_add_([base[:20], base[20:]], [base[20:], base[:20]], alpha=0.5)
        # (a partial overlap, base[:20] with base[10:30], raises in torch; ember's
        # single-tensor add_ does not check it: not compared here)
        c = [x.t() if x.dim() == 2 else x for x in a]           # non-contiguous tensors
        lib._foreach_lerp_(c, [y.t() if y.dim() == 2 else y for y in b], 0.3)
        lib._foreach_add_(a, a, alpha=0.7)                      # the operand is the tensor
        lib._foreach_lerp_(b, [x * 2 for x in b], 0.9)
        results.append(_bits(a) + _bits(b) + [base.numpy().tobytes()])
    assert results[1] == results[0]


def test_pointer_cache_follows_replaced_arrays():
    """A tensor whose array is replaced (t.data = ...) or freed is not written through a
    stale address."""
    a = [ember.zeros(5) for _ in range(3)]
    b = [ember.ones(5) for _ in range(3)]
    ember._foreach_add_(a, b, alpha=2.0)
    old = a[0]._data
    a[0].data = ember.full((5,), 10.0)
    ember._foreach_add_(a, b, alpha=2.0)
    assert a[0].tolist() == [12.0] * 5 and a[1].tolist() == [4.0] * 5
    assert old.tolist() == [2.0] * 5
    del old
    for _ in range(3):
        fresh = [ember.zeros(5) for _ in range(3)]
        ember._foreach_add_(fresh, b, alpha=1.0)
        assert all(t.tolist() == [1.0] * 5 for t in fresh)


def test_grad_mode_and_cuda_fall_back():
    """A list with a tensor requiring grad under grad mode takes the per-tensor ops (which
    raise for a leaf written in place), as torch."""
    for lib in (torch, ember):
        a = [lib.zeros(3, requires_grad=True)]
        with pytest.raises(RuntimeError):
            lib._foreach_add_(a, [lib.ones(3)], alpha=2.0)
        with lib.no_grad():
            lib._foreach_add_(a, [lib.ones(3)], alpha=2.0)
        assert a[0].tolist() == [2.0] * 3
