"""Defects found by running torch's OpInfo sample inputs through ember and torch
(a differential sweep); each case is the same program on both, compared."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import run as _run, same as _same  # noqa: E402


def _grad_of(fn, m, *values, dtype="float64"):
    xs = [m.tensor(v, dtype=getattr(m, dtype), requires_grad=True) for v in values]
    out = fn(m, *xs)
    out = out if isinstance(out, m.Tensor) else out[0]
    (out.abs() if out.is_complex() else out).sum().backward()
    return [out] + [x.grad for x in xs]


CASES = {
    "avg_pool2d_empty_stride": lambda m: m.nn.functional.avg_pool2d(
        m.arange(16.).reshape(1, 1, 4, 4), (2, 2), (), (0,), False, True, -2),
    "max_pool1d_empty_stride": lambda m: m.nn.functional.max_pool1d(
        m.arange(4.).reshape(1, 1, 4), 2, ()),
    "lp_pool2d_empty_stride": lambda m: m.nn.functional.lp_pool2d(
        m.arange(16.).reshape(1, 1, 4, 4), 2, 2, ()),
    "unfold_empty_batch": lambda m: m.nn.functional.unfold(m.ones(0, 1, 5, 5), 2, 1, 0, 1),
    "vector_norm_0dim_complex": lambda m: m.linalg.vector_norm(m.tensor(1 + 2j), ord=6),
    "normalize_complex": lambda m: m.nn.functional.normalize(m.tensor([1 + 2j]), dim=0),
    "combinations_empty_in_graph": lambda m: m.combinations(
        m.tensor([1.0], requires_grad=True), r=2).requires_grad,
    "combinations_r_above_n": lambda m: m.combinations(m.tensor([1.0, 2.0]), r=3),
    "bessel_j1_0dim": lambda m: m.special.bessel_j1(m.tensor(0.5)),
    "airy_ai_0dim": lambda m: m.special.airy_ai(m.tensor(0.5)),
    "chebyshev_t_0dim": lambda m: m.special.chebyshev_polynomial_t(m.tensor(0.5), m.tensor(3.0)),
    "poisson_0dim": lambda m: m.poisson(m.tensor(2.0)).shape,
    "binomial_0dim": lambda m: m.binomial(m.tensor(5.0), m.tensor(0.3)).shape,
    "gamma_sample_0dim": lambda m: m.distributions.Gamma(m.tensor(2.0), m.tensor(1.0))
    .sample().shape,
    "student_t_sample_0dim": lambda m: m.distributions.StudentT(m.tensor(2.0)).sample().shape,
    "hardtanh_int": lambda m: m.nn.functional.hardtanh(m.arange(-3, 4)),
    "relu6_int": lambda m: m.nn.functional.relu6(m.arange(-3, 9)),
    "relu6_uint8": lambda m: m.nn.functional.relu6(m.arange(0, 9, dtype=m.uint8)),
    "hardtanh_uint8_negative_limits": lambda m: m.nn.functional.hardtanh(
        m.arange(0, 4, dtype=m.uint8)),
    "hardtanh_bool": lambda m: m.nn.functional.hardtanh(m.tensor([True])),
    "l1_loss_complex": lambda m: [m.nn.functional.l1_loss(
        m.tensor([1 + 1j, 2 - 3j, 0.5j]), m.tensor([2 + 0j, 1 + 1j, 0.5j]), reduction=r)
        for r in ("mean", "sum", "none")],
    "l1_loss_complex_grad": lambda m: _grad_of(
        lambda m, x: m.nn.functional.l1_loss(x, m.tensor([2 + 0j, 1 + 1j, 0.5j])), m,
        [1 + 1j, 2 - 3j, 0.5j], dtype="complex64"),
    "frexp_grad": lambda m: _grad_of(lambda m, x: m.frexp(x).mantissa, m,
                                     [1.5, 10.0, -0.3, 0.0, 1e-310]),
    "frexp_exponent": lambda m: m.frexp(m.tensor([1.5, 10.0, -0.3, 0.0])).exponent,
    "frexp_half": lambda m: list(m.frexp(m.tensor([3.0, -0.7], dtype=m.float16))),
    "frexp_out": lambda m: list(m.frexp(m.tensor([3.0, 5.0]), out=(
        m.empty(2), m.empty(2, dtype=m.int32)))),
    "clamp_crossed_bounds_grads": lambda m: _grad_of(
        lambda m, x, lo, hi: m.clamp(x, lo, hi) * m.tensor([1.0, 2, 3, 4, 5, 6]), m,
        [0.0, 5, -5, 1, 2, float("nan")], [1.0, 1, 1, 3, 2, 0], [2.0, 2, 2, 2, 2, 1]),
    "clamp_min_tensor_grads": lambda m: _grad_of(
        lambda m, x, lo: m.clamp(x, min=lo), m, [0.0, 5, 1, float("nan")], [1.0, 1, 1, 0]),
    "max_unpool1d_repeated_indices": lambda m: m.nn.functional.max_unpool1d(
        m.tensor([[[1.0, 2, 3], [4, 5, 6]]]), m.tensor([[[0, 2, 2], [1, 1, 0]]]), 2),
    "max_unpool2d_repeated_indices_grad": lambda m: _grad_of(
        lambda m, x: m.nn.functional.max_unpool2d(
            x, m.tensor([[[[0, 0], [3, 3]], [[1, 2], [2, 1]]]]), 2) * m.arange(32.0).reshape(
                1, 2, 4, 4), m, [[[[0.0, 1], [2, 3]], [[4, 5], [6, 7]]]]),
    "logsumexp_complex_wraps_imag": lambda m: [
        m.logsumexp(m.tensor([[-4.827 - 7.5824j, 1 + 10j], [2 - 3j, 0.5 + 0.5j]]), d)
        for d in (0, 1)],
    "matrix_power_0_in_graph": lambda m: _grad_of(
        lambda m, a: m.linalg.matrix_power(a, 0), m, [[2.0, 1.0], [0.0, 3.0]]),
    "hash_tensor_0dim_dims": lambda m: [
        m.hash_tensor(m.tensor(0.5, dtype=m.float64), **kw).item()
        for kw in (dict(dim=0, keepdim=True), dict(dim=-1), dict(dim=(0,)), dict())],
}

_M = lambda m: m.arange(6).reshape(2, 3)  # noqa: E731
CASES.update({
    "int_addmv_float_scalars": lambda m: [
        m.addmv(m.arange(2), _M(m), m.arange(3), beta=b, alpha=a)
        for b, a in ((0.2, 0.6), (1.5, 2.7))],
    "int_addmm_float_scalars": lambda m: m.addmm(
        m.ones(2, 2, dtype=m.int64), _M(m), _M(m).T, beta=2.5, alpha=-1.5),
    "int_addbmm_float_alpha": lambda m: m.addbmm(
        m.ones(2, 2, dtype=m.int64), _M(m)[None], _M(m).T[None], alpha=0.5),
    "int_baddbmm_float_beta": lambda m: m.baddbmm(
        m.ones(1, 2, 2, dtype=m.int64), _M(m)[None], _M(m).T[None], beta=1.9),
    "int_addr_float_alpha": lambda m: m.addr(m.arange(2), m.arange(2), m.arange(2), alpha=1.5),
    "int_addr_int_alpha": lambda m: m.addr(m.arange(2), m.arange(2), m.arange(2), alpha=2),
})

CASES.update({
    "mvlgamma_int": lambda m: [m.mvlgamma(m.tensor([3, 4]), p=p) for p in (1, 3)],
    "multigammaln_uint8": lambda m: m.special.multigammaln(m.tensor([3, 4], dtype=m.uint8), 2),
    "mvlgamma_bool": lambda m: m.mvlgamma(m.tensor([True]), 1),
    "prelu_0dim": lambda m: _grad_of(lambda m, x, w: m.nn.functional.prelu(x, w), m, -0.5,
                                     [0.25]),
    "cosine_embedding_loss_int": lambda m: m.nn.functional.cosine_embedding_loss(
        m.tensor([[1, 2], [3, -1]]), m.tensor([[2, 1], [1, 1]]), m.tensor([1, -1]), margin=0.1,
        reduction="none"),
})

# Tensor methods that take sizes as varargs also take them by keyword, as PyTorch's
_X = lambda m: m.arange(6.0).reshape(2, 3)  # noqa: E731
CASES.update({
    "kw_flip_dims": lambda m: _X(m).flip(dims=[0]),
    "kw_permute_dims": lambda m: [_X(m).permute(dims=[1, 0]), m.permute(_X(m), dims=(1, 0))],
    "kw_reshape_shape": lambda m: [_X(m).reshape(shape=(3, 2)), m.reshape(_X(m), shape=(6,))],
    "kw_view_size": lambda m: _X(m).view(size=(3, 2)),
    "kw_expand_size": lambda m: _X(m)[:1].expand(size=(4, 3)),
    "kw_repeat_repeats": lambda m: _X(m).repeat(repeats=(2, 1)),
    "kw_new_factories_size": lambda m: [_X(m).new_zeros(size=(2,)), _X(m).new_ones(size=(2,)),
                                        _X(m).new_empty(size=(2,)).shape],
    "kw_split_size": lambda m: list(_X(m).split(split_size=1, dim=0)),
    "abs_inplace_complex": lambda m: m.tensor([1 - 2j]).abs_(),
    "absolute_inplace_complex": lambda m: m.tensor([1 - 2j]).absolute_(),
    "torch_abs_inplace_complex": lambda m: m.abs_(m.tensor([1 - 2j])),
    "abs_inplace_real": lambda m: m.tensor([-1.0, 2.0]).abs_(),
    "method_as_strided_scatter": lambda m: m.zeros(4).as_strided_scatter(m.ones(2), (2,), (2,)),
    "method_hash_tensor": lambda m: [m.tensor([1.0, 2.0]).hash_tensor().item(),
                                     m.tensor([[1.0, 2.0]]).hash_tensor(1).tolist()],
    "dense_layout_flags": lambda m: [
        (lambda x: [x.is_sparse_csr, x.is_nested, x.is_mkldnn, x.is_xla, x.is_xpu, x.is_mps,
                    x.is_mtia, x.is_ipu, x.is_maia, x.is_vulkan, x.is_distributed(),
                    x.sparse_dim(), x.dense_dim(), x.dim_order(), x.T.dim_order()])(
            m.ones(2, 3)),
        m.ones(1, 2, 3, 4).contiguous(memory_format=m.channels_last).dim_order()],
    "dense_indices_raises": lambda m: m.ones(2).indices(),
    "dense_values_raises": lambda m: m.ones(2).values(),
    "dense_is_coalesced_raises": lambda m: m.ones(2).is_coalesced(),
    "kw_resize_size": lambda m: _X(m).clone().resize_(size=(6,)).shape,
})

_INT_POOLS = {
    "avg_pool2d": lambda m, x: m.nn.functional.avg_pool2d(x, 2),
    "avg_pool2d_padded": lambda m, x: m.nn.functional.avg_pool2d(x, 3, 1, 1),
    "avg_pool2d_negative": lambda m, x: m.nn.functional.avg_pool2d(-x, 2),
    "avg_pool2d_divisor": lambda m, x: m.nn.functional.avg_pool2d(x, 2, divisor_override=3),
    "avg_pool2d_negative_divisor": lambda m, x: m.nn.functional.avg_pool2d(
        x, 2, divisor_override=-3),
    "avg_pool2d_no_pad_count": lambda m, x: m.nn.functional.avg_pool2d(
        x - 7, 3, 1, 1, count_include_pad=False),
    "avg_pool1d_ceil": lambda m, x: m.nn.functional.avg_pool1d(x.reshape(1, 1, 16)[..., :5], 2,
                                                               ceil_mode=True),
    "avg_pool3d": lambda m, x: m.nn.functional.avg_pool3d(x.reshape(1, 1, 4, 2, 2), 2),
    "lp_pool2d": lambda m, x: m.nn.functional.lp_pool2d(x, 2, 2),
    "adaptive_avg_pool2d": lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, 2),
    "adaptive_avg_pool1d": lambda m, x: m.nn.functional.adaptive_avg_pool1d(
        x.reshape(1, 1, 16), 2),
    "adaptive_avg_pool3d": lambda m, x: m.nn.functional.adaptive_avg_pool3d(
        x.reshape(1, 1, 4, 2, 2), 1),
    "avg_pool2d_uint8": lambda m, x: m.nn.functional.avg_pool2d(x.to(m.uint8), 2),
    "avg_pool2d_bool": lambda m, x: m.nn.functional.avg_pool2d(x > 3, 2),
}
for _name, _fn in _INT_POOLS.items():
    CASES["int64_" + _name] = (lambda fn: lambda m: fn(m, m.arange(16).reshape(1, 1, 4, 4)))(_fn)

for _size in [(4,), (5,), (1, 2, 5), (9,), (7,), (1, 5)]:
    CASES[f"max_unpool1d_output_size_{_size}"] = (
        lambda size: lambda m: m.nn.functional.max_unpool1d(
            m.ones(1, 2, 3), m.zeros(1, 2, 3, dtype=m.int64), 2, output_size=size))(_size)


def _lstsq_case(driver, m_, n, k, complex_):
    def program(m):
        rng = np.random.default_rng(m_ * 10 + n)
        a = rng.standard_normal((m_, n)) + (1j * rng.standard_normal((m_, n)) if complex_ else 0)
        b = rng.standard_normal((m_, k)) + (1j * rng.standard_normal((m_, k)) if complex_ else 0)
        dt = m.complex128 if complex_ else m.float64
        r = m.linalg.lstsq(m.tensor(a, dtype=dt), m.tensor(b, dtype=dt), driver=driver)
        return [r.solution, r.residuals, r.singular_values]
    return program


for _drv in ("gels", "gelsy", "gelsd", "gelss"):
    for _shape in ((4, 3, 3, False), (4, 3, 2, True), (3, 3, 2, False), (3, 4, 2, False)):
        CASES[f"lstsq_{_drv}_{'x'.join(map(str, _shape[:3]))}{'_c' if _shape[3] else ''}"] = \
            _lstsq_case(_drv, *_shape)


# tensordot: a size-1 contracted dim broadcasts against its partner
CASES["tensordot_size1_contracted"] = lambda m: m.tensordot(
    m.arange(6.).reshape(2, 1, 3), m.arange(24.).reshape(3, 4, 2), dims=([0, 1], [2, 1]))
CASES["tensordot_size1_contracted_grad"] = lambda m: _grad_of(
    lambda m, a, b: m.tensordot(a, b, dims=([1], [0])), m,
    np.arange(3.).reshape(3, 1), np.arange(8.).reshape(4, 2))
CASES["tensordot_mismatch_still_raises"] = lambda m: m.tensordot(
    m.ones(2, 3), m.ones(3, 4), dims=([0], [0]))


def _histogramdd_unsorted(seed, density):
    def program(m):
        rng = np.random.default_rng(seed)
        x = rng.uniform(-1, 3, size=(25, 2)).round(1)
        edges = [rng.uniform(-1, 3, size=n).round(1) for n in (4, 5)]
        w = rng.uniform(size=25)
        return m.histogramdd(m.tensor(x), bins=[m.tensor(e) for e in edges],
                             weight=m.tensor(w), density=density).hist
    return program


# histogramdd with bin edges out of order (PyTorch bins by its binary search; NumPy raised)
for _seed in range(4):
    CASES[f"histogramdd_unsorted_edges_{_seed}"] = _histogramdd_unsorted(_seed, _seed % 2 == 1)

# householder_product without reflectors stays in the graph, with zero gradients
for _shape in ((3, 0), (0, 0), (3, 2)):
    CASES[f"householder_product_no_reflectors_{_shape}"] = (lambda shape: lambda m: _grad_of(
        lambda m, a, t: m.linalg.householder_product(a, t), m,
        np.ones(shape), np.zeros(0)))(_shape)

# factories take size= as a keyword, and raise PyTorch's TypeError without a size
for _f in ("zeros", "ones", "empty", "rand", "randn"):
    CASES[f"{_f}_size_keyword"] = (lambda f: lambda m: getattr(m, f)(size=(2, 3)).shape)(_f)
    CASES[f"{_f}_size_keyword_0dim"] = (lambda f: lambda m: getattr(m, f)(size=()).shape)(_f)
    CASES[f"{_f}_no_size"] = (lambda f: lambda m: getattr(m, f)())(_f)
    CASES[f"{_f}_size_twice"] = (lambda f: lambda m: getattr(m, f)(2, size=(2,)))(_f)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_torch(name):
    got, want = _run(CASES[name], ember), _run(CASES[name], torch)
    assert _same(got, want), (got, want)
