"""Property tests: reductions on random shapes, dims and keepdim agree with PyTorch
(values, dtypes, shapes and gradients, through the oracle harness)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from tests.oracle.harness import Grad, check

shapes = st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple)
nonempty_shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)


def _distinct(shape, seed):
    """Distinct float64 values (no ties, so selected indices are unambiguous)."""
    n = int(np.prod(shape))
    rng = np.random.default_rng(seed)
    return (rng.permutation(n) + rng.random(n) * 0.5).reshape(shape) / max(n, 1) - 0.5


@st.composite
def reduction_args(draw, shape_strategy=shapes):
    shape = draw(shape_strategy)
    ndim = len(shape)
    if ndim:
        dims = draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                             unique_by=lambda d: d % ndim))
    else:
        dims = draw(st.sampled_from([[0], [-1]]))
    keepdim = draw(st.booleans())
    seed = draw(st.integers(0, 2 ** 16))
    return shape, tuple(dims), keepdim, seed


MULTI_DIM = {
    "sum": lambda L, a, d, k: a.sum(d, keepdim=k),
    "nansum": lambda L, a, d, k: L.nansum(a, d, keepdim=k),
    "mean": lambda L, a, d, k: a.mean(d, keepdim=k),
    "var": lambda L, a, d, k: a.var(d, keepdim=k, correction=0),
    "std": lambda L, a, d, k: a.std(d, keepdim=k),
    "logsumexp": lambda L, a, d, k: a.logsumexp(d, keepdim=k),
    "norm3": lambda L, a, d, k: a.norm(3, d, keepdim=k),
    "count_nonzero": lambda L, a, d, k: L.count_nonzero(a, d),
    "all": lambda L, a, d, k: (a > 0).all(d, keepdim=k),
    "any": lambda L, a, d, k: (a > 0).any(d, keepdim=k),
}


@pytest.mark.parametrize("name", sorted(MULTI_DIM))
@given(args=reduction_args())
def test_multi_dim_reductions(name, args):
    shape, dims, keepdim, seed = args
    fn = MULTI_DIM[name]
    check(lambda L, a: fn(L, a, dims, keepdim), Grad(_distinct(shape, seed)))


@pytest.mark.parametrize("name", ["amax", "amin"])
@given(args=reduction_args(), dtype=st.sampled_from(["float32", "float64", "int32"]))
def test_amax_amin(name, args, dtype):
    shape, dims, keepdim, seed = args
    arr = (_distinct(shape, seed) * 100).astype(dtype)
    inp = Grad(arr) if dtype.startswith("float") else arr
    check(lambda L, a: getattr(a, name)(dims, keepdim), inp)


ONE_DIM = {
    "max": lambda L, a, d, k: a.max(d, keepdim=k),
    "min": lambda L, a, d, k: a.min(d, keepdim=k),
    "argmax": lambda L, a, d, k: a.argmax(d, keepdim=k),
    "argmin": lambda L, a, d, k: a.argmin(d, keepdim=k),
    "median": lambda L, a, d, k: a.median(d, keepdim=k),
    "nanmedian": lambda L, a, d, k: a.nanmedian(d, keepdim=k),
    "prod": lambda L, a, d, k: a.prod(d, keepdim=k),
    "aminmax": lambda L, a, d, k: L.aminmax(a, dim=d, keepdim=k),
    "cumsum": lambda L, a, d, k: a.cumsum(d),
    "cumprod": lambda L, a, d, k: a.cumprod(d),
    "cummax": lambda L, a, d, k: a.cummax(d),
    "cummin": lambda L, a, d, k: a.cummin(d),
}


@pytest.mark.parametrize("name", sorted(ONE_DIM))
@given(args=reduction_args(shapes))
def test_one_dim_reductions(name, args):
    shape, dims, keepdim, seed = args
    fn = ONE_DIM[name]
    check(lambda L, a: fn(L, a, dims[0], keepdim), Grad(_distinct(shape, seed)))


@pytest.mark.parametrize("name", ["sum", "prod", "cumsum"])
@given(shape=nonempty_shapes, dtype=st.sampled_from(["bool", "uint8", "int8", "int32", "int64"]),
       seed=st.integers(0, 2 ** 16))
def test_integer_promotion(name, shape, dtype, seed):
    arr = np.random.default_rng(seed).integers(0, 3, shape).astype(dtype)
    fns = {"sum": lambda L, a: a.sum(), "prod": lambda L, a: a.prod(-1),
           "cumsum": lambda L, a: a.cumsum(0)}
    check(fns[name], arr)


@given(shape=nonempty_shapes, seed=st.integers(0, 2 ** 16), zeros=st.integers(0, 3))
def test_prod_cumprod_with_zeros(shape, seed, zeros):
    rng = np.random.default_rng(seed)
    arr = rng.standard_normal(shape)
    flat = arr.reshape(-1)
    flat[rng.choice(flat.size, size=min(zeros, flat.size), replace=False)] = 0
    check(lambda L, a: (a.prod(), a.prod(-1), a.cumprod(0)), Grad(arr))
