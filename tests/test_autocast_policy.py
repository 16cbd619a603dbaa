"""Autocast's per-op policy against PyTorch, for the ops found wrong by bench/autocast_sweep.py
(torch's own autocast_test_lists run through both libraries).

CPU: each case runs under ``autocast('cpu', dtype)`` in torch and ember on the same inputs;
output dtype, values and the float32 inputs' gradients are compared (tests/oracle/harness).
CUDA (a GPU, or the fake CuPy under EMBER_FAKE_CUDA=1): no CUDA torch is here, so the output
dtype is compared with the one PyTorch's CUDA policy prescribes (its autocast_test_lists) and
the values with torch's CPU result on inputs cast to that dtype by hand.
"""
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.oracle.harness import Grad, assert_same, check

rng = np.random.default_rng(0)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def bf16(*shape):
    import ml_dtypes
    return f32(*shape).astype(ml_dtypes.bfloat16)


def pos_bf16(*shape):
    import ml_dtypes
    return (np.abs(f32(*shape)) + 0.1).astype(ml_dtypes.bfloat16)


def F(lib):
    return lib.nn.functional


def under(dtype_name, fn):
    def run(lib, *xs):
        with lib.autocast("cpu", dtype=getattr(lib, dtype_name)):
            return fn(lib, *xs)
    return run


LABELS = np.array([0, 2, 1, 3])

# (name, fn(lib, *inputs), inputs): ops whose CPU policy ember missed (composites), or
# applied where PyTorch does not
CPU_CASES = [
    # float32 policy: losses built from other ops
    ("poisson_nll_loss", lambda L, a, b: F(L).poisson_nll_loss(a, b), [Grad(bf16(4, 3)),
                                                                       pos_bf16(4, 3)]),
    ("cosine_embedding_loss", lambda L, a, b, y: F(L).cosine_embedding_loss(a, b, y),
     [Grad(bf16(2, 3)), bf16(2, 3), np.array([1, -1])]),
    ("margin_ranking_loss", lambda L, a, b, y: F(L).margin_ranking_loss(a, b, y),
     [Grad(bf16(5)), bf16(5), np.sign(f32(5))]),
    ("triplet_margin_loss", lambda L, a, p, n: F(L).triplet_margin_loss(a, p, n),
     [Grad(bf16(4, 3)), bf16(4, 3), bf16(4, 3)]),
    ("multi_margin_loss", lambda L, a, t: F(L).multi_margin_loss(a, t), [Grad(bf16(4, 5)), LABELS]),
    ("multilabel_margin_loss", lambda L, a, t: F(L).multilabel_margin_loss(a, t),
     [Grad(bf16(2, 4)), np.array([[0, 2, -1, 1], [3, -1, 0, 0]])]),
    ("ctc_loss", lambda L, a: F(L).ctc_loss(a.log_softmax(2), L.tensor([[1, 2], [3, 1]]),
                                            [6, 6], [2, 2]), [Grad(bf16(6, 2, 5))]),
    # float32 policy: pooling, pads (reflect/replicate up to the listed dimensions)
    ("avg_pool3d", lambda L, a: F(L).avg_pool3d(a, 2), [Grad(bf16(1, 2, 4, 4, 4))]),
    ("avg_pool3d_module", lambda L, a: L.nn.AvgPool3d(2)(a), [Grad(bf16(1, 2, 4, 4, 4))]),
    ("max_pool3d", lambda L, a: F(L).max_pool3d(a, 2), [Grad(bf16(1, 2, 4, 4, 4))]),
    ("max_pool3d_indices", lambda L, a: F(L).max_pool3d(a, 2, return_indices=True)[0],
     [Grad(bf16(1, 2, 4, 4, 4))]),
    ("adaptive_avg_pool3d", lambda L, a: F(L).adaptive_avg_pool3d(a, 2), [bf16(1, 2, 4, 4, 4)]),
    ("adaptive_max_pool3d", lambda L, a: F(L).adaptive_max_pool3d(a, 2), [bf16(1, 2, 4, 4, 4)]),
    ("max_pool2d_not_listed", lambda L, a: F(L).max_pool2d(a, 2), [bf16(1, 2, 4, 4)]),
    ("local_response_norm", lambda L, a: F(L).local_response_norm(a, 2), [bf16(1, 3, 4, 4)]),
    ("reflection_pad1d", lambda L, a: F(L).pad(a, (2, 2), mode="reflect"), [Grad(bf16(1, 2, 5))]),
    ("reflection_pad2d", lambda L, a: F(L).pad(a, (1, 1, 2, 2), mode="reflect"),
     [bf16(1, 2, 4, 4)]),
    ("reflection_pad3d_not_listed", lambda L, a: F(L).pad(a, (1, 1, 1, 1, 1, 1), mode="reflect"),
     [bf16(1, 1, 3, 3, 3)]),
    ("replication_pad3d", lambda L, a: F(L).pad(a, (1, 1, 1, 1, 1, 1), mode="replicate"),
     [bf16(1, 1, 3, 3, 3)]),
    ("reflection_pad_module", lambda L, a: L.nn.ReflectionPad1d(2)(a), [bf16(1, 2, 5)]),
    ("constant_pad", lambda L, a: F(L).pad(a, (1, 1)), [bf16(1, 2, 5)]),
    ("grid_sample", lambda L, a, g: F(L).grid_sample(a, g, align_corners=False),
     [Grad(bf16(1, 2, 4, 4)), np.clip(f32(1, 3, 3, 2), -1, 1)]),
    # float32 policy: reductions, distances, spectral ops
    ("prod", lambda L, a: L.prod(a), [Grad(bf16(5))]),
    ("prod_method_dim", lambda L, a: a.prod(1), [Grad(bf16(2, 3))]),
    ("quantile", lambda L, a: L.quantile(a, 0.3, dim=1), [bf16(2, 5)]),
    ("nanquantile", lambda L, a: L.nanquantile(a, 0.5), [bf16(6)]),
    ("cdist", lambda L, a, b: L.cdist(a, b), [Grad(bf16(3, 2)), bf16(4, 2)]),
    ("trace", lambda L, a: L.trace(a), [Grad(bf16(3, 3))]),
    ("polar", lambda L, a, b: L.polar(a, b), [pos_bf16(3), bf16(3)]),
    ("view_as_complex", lambda L, a: L.view_as_complex(a), [bf16(3, 2)]),
    ("fft", lambda L, a: L.fft.fft(a), [bf16(8)]),
    ("rfft", lambda L, a: L.fft.rfft(a), [bf16(8)]),
    ("hfft", lambda L, a: L.fft.hfft(a), [bf16(5)]),
    # lower precision
    ("linalg_vecdot", lambda L, a, b: L.linalg.vecdot(a, b), [Grad(f32(3, 4)), Grad(f32(3, 4))]),
    ("sdpa", lambda L, q, k, v: F(L).scaled_dot_product_attention(q, k, v),
     [Grad(f32(2, 3, 4)), f32(2, 3, 4), f32(2, 3, 4)]),
    ("conv_tbc", lambda L, x, w, b: L.conv_tbc(x, w, b), [f32(6, 2, 3), f32(3, 3, 4), f32(4)]),
    ("inner_matrix", lambda L, a, b: L.inner(a, b), [f32(2, 3), f32(4, 3)]),
    ("inner_vectors", lambda L, a, b: L.inner(a, b), [f32(3), f32(3)]),
    # promote
    ("index_copy", lambda L, a, s: a.index_copy(0, L.tensor([1]), s), [bf16(3, 2), f32(1, 2)]),
    ("index_copy_function", lambda L, a, s: L.index_copy(a, 0, L.tensor([0]), s),
     [f32(3), bf16(1)]),
    # no policy, one kernel in PyTorch: run in the dtypes given (ember composes them)
    ("bilinear", lambda L, a, b, w: F(L).bilinear(a, b, w), [f32(2, 3), f32(2, 4), f32(5, 3, 4)]),
    ("tensordot", lambda L, a, b: L.tensordot(a, b), [f32(2, 2), f32(2, 2)]),
    ("einsum_one_operand", lambda L, a: L.einsum("ij->j", a), [f32(3, 4)]),
    ("embedding_bag", lambda L, w: F(L).embedding_bag(L.tensor([[0, 1]]), w), [bf16(3, 2)]),
    # exception types as torch's where its autocast does not reach the listed overload
    ("linalg_pinv", lambda L, a: L.linalg.pinv(a), [bf16(3, 3)]),
    ("linalg_det", lambda L, a: L.linalg.det(a), [bf16(3, 3)]),
    ("linalg_slogdet", lambda L, a: L.linalg.slogdet(a), [bf16(3, 3)]),
]

GRAD_TOL = dict(rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("name,fn,inputs", CPU_CASES, ids=[c[0] for c in CPU_CASES])
def test_cpu_policy(name, fn, inputs, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(under(dtype, fn), *inputs, **GRAD_TOL)


def test_promote_mixing_the_other_lower_dtype_raises():
    """PyTorch's prioritize: a bfloat16 operand in a float16 region is an error unless a
    float32 operand came first."""
    for L in (torch, ember):
        a, b = L.ones(2, dtype=L.bfloat16), L.ones(2)
        with L.autocast("cpu", dtype=L.float16):
            with pytest.raises(RuntimeError):
                L.stack([a, b])
            assert L.stack([b, a]).dtype is L.float32
            assert L.cat([a.half(), b]).dtype is L.float32


def test_out_variants_are_not_autocast():
    """An op given out= runs in the dtypes given (PyTorch registers no autocast out= kernels)."""
    for L in (torch, ember):
        a = L.ones(2, 2)
        out = L.empty(2, 2)
        with L.autocast("cpu"):
            L.mm(a, a, out=out)
            p = L.empty((), dtype=L.bfloat16)
            L.prod(L.full((3,), 2.0, dtype=L.bfloat16), 0, out=p)
        assert out.dtype is L.float32 and float(out.sum()) == 8.0
        assert p.dtype is L.bfloat16 and float(p) == 8.0


def test_nested_disabled_and_outside():
    """Inside autocast(enabled=False) and outside autocast the op runs in its inputs' dtypes
    (a bfloat16 multi_margin_loss raises PyTorch's NotImplementedError there: ember raises
    nothing, a dtype it computes in float32; see the report)."""
    for L in (torch, ember):
        a = L.ones(3, 3, dtype=L.bfloat16)
        with L.autocast("cpu"):
            assert L.prod(a).dtype is L.float32
            with L.autocast("cpu", enabled=False):
                assert L.prod(a).dtype is L.bfloat16
                assert F(L).pad(a[None], (1, 1), mode="reflect").dtype is L.bfloat16
            assert F(L).pad(a[None], (1, 1), mode="reflect").dtype is L.float32
        assert F(L).poisson_nll_loss(a, a).dtype is L.bfloat16


def test_composites_keep_the_cast_inside():
    """An op with a policy runs with autocast off inside (PyTorch's autocast kernel excludes
    its key): a float32 loss whose implementation multiplies matrices stays float32."""
    for L in (torch, ember):
        a, p, n = (L.ones(4, 3, dtype=L.bfloat16) * k for k in (1, 2, 3))
        with L.autocast("cpu"):
            assert F(L).triplet_margin_loss(a, p, n).dtype is L.float32
            assert L.cdist(a.float(), p.float()).dtype is L.float32


# ------------------------------------------------------------------------------ CUDA policy

def _h(*shape):
    return rng.standard_normal(shape).astype(np.float16)


# (name, fn(lib, *tensors), numpy inputs, the dtype PyTorch's CUDA policy gives)
CUDA_CASES = [
    ("exp", lambda L, a: L.exp(a), [_h(4)], "float32"),
    ("log_method", lambda L, a: a.abs().log(), [_h(4)], "float32"),
    ("pow_operator", lambda L, a: a.abs() ** 1.5, [_h(4)], "float32"),
    ("rsqrt", lambda L, a: L.rsqrt(a.abs() + 1), [_h(4)], "float32"),
    ("softmax", lambda L, a: L.softmax(a, 0), [_h(4)], "float32"),
    ("softmax_dtype", lambda L, a: L.softmax(a, 0, dtype=L.float16), [_h(4)], "float16"),
    ("sum", lambda L, a: a.sum(1), [_h(3, 4)], "float32"),
    ("cumsum", lambda L, a: L.cumsum(a, 0), [_h(4)], "float32"),
    ("layer_norm", lambda L, a: F(L).layer_norm(a, (4,)), [_h(3, 4)], "float32"),
    ("group_norm", lambda L, a: F(L).group_norm(a, 1), [_h(2, 4)], "float32"),
    ("rms_norm", lambda L, a: F(L).rms_norm(a, (4,)), [_h(3, 4)], "float32"),
    ("norm", lambda L, a: L.norm(a, p=1, dim=0), [_h(4)], "float32"),
    ("cosine_similarity", lambda L, a, b: F(L).cosine_similarity(a, b), [_h(3, 4), _h(3, 4)],
     "float32"),
    ("softplus", lambda L, a: F(L).softplus(a), [_h(4)], "float32"),
    ("interpolate", lambda L, a: F(L).interpolate(a, scale_factor=2), [_h(1, 2, 3)], "float32"),
    ("multi_margin_loss", lambda L, a: F(L).multi_margin_loss(a, L.ones(3, dtype=L.int64,
                                                                       device=a.device)),
     [_h(3, 4)], "float32"),
    ("lstm_cell", lambda L, x, h, c, wi, wh: L.lstm_cell(x, (h, c), wi, wh)[0],
     [f32(2, 3), f32(2, 3), f32(2, 3), f32(12, 3), f32(12, 3)], "float16"),
    ("gru_cell", lambda L, x, h, wi, wh: L.gru_cell(x, h, wi, wh),
     [f32(2, 3), f32(2, 3), f32(9, 3), f32(9, 3)], "float16"),
    ("vecdot", lambda L, a, b: L.linalg.vecdot(a, b), [f32(3, 4), f32(3, 4)], "float16"),
    ("dot_promote", lambda L, a, b: L.dot(a, b), [_h(4), f32(4)], "float32"),
    ("cross_promote", lambda L, a, b: L.linalg.cross(a, b), [f32(3), _h(3)], "float32"),
    ("scatter_add_promote",
     lambda L, a, s: a.scatter_add(0, L.tensor([1, 0], device=a.device), s),
     [_h(2), f32(2)], "float32"),
    ("index_put_promote", lambda L, a, s: a.index_put((L.tensor([1], device=a.device),), s),
     [f32(3), _h(1)],
     "float32"),
    ("tensordot_promote", lambda L, a, b: L.tensordot(a, b), [f32(2, 2), _h(2, 2)], "float32"),
    ("atan2_promote", lambda L, a, b: L.atan2(a, b), [f32(3), _h(3)], "float32"),
    # no policy, one kernel in PyTorch: the input's dtype
    ("elu", lambda L, a: F(L).elu(a), [_h(4)], "float16"),
    ("selu", lambda L, a: F(L).selu(a), [_h(4)], "float16"),
    ("mish", lambda L, a: F(L).mish(a), [_h(4)], "float16"),
    ("logsigmoid", lambda L, a: F(L).logsigmoid(a), [_h(4)], "float16"),
    ("gelu", lambda L, a: F(L).gelu(a), [_h(4)], "float16"),
]


def _control(fn, inputs, dtype):
    """torch's CPU result on the inputs cast to `dtype` by hand (autocast off)."""
    dt = getattr(torch, dtype)
    xs = [torch.from_numpy(x.copy()) for x in inputs]
    xs = [x.to(dt) if x.is_floating_point() else x for x in xs]
    return fn(torch, *xs)


@pytest.mark.parametrize("name,fn,inputs,expect", CUDA_CASES, ids=[c[0] for c in CUDA_CASES])
def test_cuda_policy(name, fn, inputs, expect):
    if not ember.cuda.is_available():
        pytest.skip("no CUDA device (EMBER_FAKE_CUDA=1 runs these on the fake CuPy)")
    xs = [ember.tensor(x, device="cuda") for x in inputs]
    with ember.autocast("cuda"):
        out = fn(ember, *xs)
    assert str(out.dtype) == f"ember.{expect}"
    ref = _control(fn, inputs, expect if "promote" not in name else "float32")
    assert_same(out.cpu(), ref, rtol=2e-2, atol=2e-2)


def test_cuda_banned_binary_cross_entropy():
    if not ember.cuda.is_available():
        pytest.skip("no CUDA device (EMBER_FAKE_CUDA=1 runs these on the fake CuPy)")
    a = ember.rand(3, device="cuda")
    with ember.autocast("cuda"):
        with pytest.raises(RuntimeError, match="unsafe to autocast"):
            F(ember).binary_cross_entropy(a, a)
