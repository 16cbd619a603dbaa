"""Mixed precision against PyTorch's CPU autocast and GradScaler('cpu').

The op table runs each op inside ``autocast('cpu', dtype)`` in both libraries and compares
output dtype, values and the gradients of the float32 inputs (which must come back as
float32). Ops whose PyTorch CPU policy ember does not reproduce yet are listed in the
module-level GAPS note below, not hidden in this table.

GAPS (CPU policy, composites PyTorch autocasts as a whole): prod, cdist, trace, quantile,
reflection/replication pad, 3-d pooling, grid_sample, inverse (refuses bfloat16 before
dispatch), polar, margin_ranking/poisson_nll/cosine_embedding/triplet/multi_margin losses
(fp32), index_copy (promote), linalg.vecdot (lower), bilinear (ember's einsum-based form
runs lower where PyTorch stays float32).
"""
import pickle
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.oracle.harness import Grad, check, assert_same

rng = np.random.default_rng(0)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def bf16(*shape):
    import ml_dtypes
    return f32(*shape).astype(ml_dtypes.bfloat16)


def f64(*shape):
    return rng.standard_normal(shape)


def under(dtype_name, fn):
    """fn(lib, *xs) run inside lib.autocast('cpu', dtype=lib.<dtype_name>)."""
    def run(lib, *xs):
        with lib.autocast("cpu", dtype=getattr(lib, dtype_name)):
            return fn(lib, *xs)
    return run


def F(lib):
    return lib.nn.functional


def spd_bf16(n):
    """A symmetric positive-definite matrix in bfloat16 (well conditioned)."""
    import ml_dtypes
    m = f32(n, n)
    return (m @ m.T + 3 * np.eye(n, dtype=np.float32)).astype(ml_dtypes.bfloat16)


LABELS = np.array([0, 2, 1, 3])

# (name, fn, inputs): run under autocast; outputs and gradients compared with torch
OPS = [
    # lower precision
    ("mm", lambda L, a, b: L.mm(a, b), [Grad(f32(3, 4)), Grad(f32(4, 5))]),
    ("mm_mixed", lambda L, a, b: L.mm(a, b), [Grad(f32(3, 4)), bf16(4, 5)]),
    ("mm_transposed", lambda L, a, b: L.mm(a.t(), b), [Grad(f32(4, 3)), Grad(f32(4, 2))]),
    ("mm_empty", lambda L, a, b: L.mm(a, b), [f32(0, 4), f32(4, 2)]),
    ("mm_float64", lambda L, a, b: L.mm(a, b), [Grad(f64(3, 4)), Grad(f64(4, 2))]),
    ("mm_float64_mixed", lambda L, a, b: L.mm(a, b), [f64(3, 4), f32(4, 2)]),
    ("mm_int", lambda L, a, b: L.mm(a, b), [np.arange(6).reshape(2, 3),
                                             np.arange(6).reshape(3, 2)]),
    ("mm_shape_error", lambda L, a, b: L.mm(a, b), [f32(3, 4), f32(3, 4)]),
    ("matmul_batched", lambda L, a, b: L.matmul(a, b), [Grad(f32(2, 3, 4)), Grad(f32(4, 5))]),
    ("matmul_vv", lambda L, a, b: L.matmul(a, b), [Grad(f32(4)), Grad(f32(4))]),
    ("matmul_operator", lambda L, a, b: a @ b, [Grad(f32(3, 4)), Grad(f32(4))]),
    ("bmm", lambda L, a, b: L.bmm(a, b), [Grad(f32(2, 3, 4)), bf16(2, 4, 2)]),
    ("addmm", lambda L, c, a, b: L.addmm(c, a, b), [Grad(f32(3)), Grad(f32(3, 4)), Grad(f32(4, 3))]),
    ("baddbmm", lambda L, c, a, b: L.baddbmm(c, a, b, beta=0.5),
     [Grad(f32(2, 3, 2)), Grad(f32(2, 3, 4)), Grad(f32(2, 4, 2))]),
    ("addbmm", lambda L, c, a, b: L.addbmm(c, a, b), [f32(3, 2), Grad(f32(2, 3, 4)), f32(2, 4, 2)]),
    ("einsum", lambda L, a, b: L.einsum("bij,bjk->bik", a, b), [Grad(f32(2, 3, 4)), Grad(f32(2, 4, 2))]),
    ("einsum_one_operand", lambda L, a: L.einsum("ij->ji", a), [Grad(f32(3, 4))]),
    ("linear", lambda L, x, w, b: F(L).linear(x, w, b), [Grad(f32(2, 3, 4)), Grad(f32(5, 4)),
                                                          Grad(f32(5))]),
    ("linear_no_bias", lambda L, x, w: F(L).linear(x, w), [Grad(f32(3, 4)), Grad(f32(5, 4))]),
    ("linear_bf16_input", lambda L, x, w, b: F(L).linear(x, w, b), [bf16(3, 4), Grad(f32(5, 4)),
                                                                     Grad(f32(5))]),
    ("conv1d", lambda L, x, w, b: F(L).conv1d(x, w, b, padding=1),
     [Grad(f32(2, 3, 6)), Grad(f32(4, 3, 3)), Grad(f32(4))]),
    ("conv2d", lambda L, x, w, b: F(L).conv2d(x, w, b, stride=2),
     [Grad(f32(1, 2, 5, 5)), Grad(f32(3, 2, 3, 3)), Grad(f32(3))]),
    ("conv2d_bf16_input", lambda L, x, w: F(L).conv2d(x, w), [bf16(1, 2, 4, 4), Grad(f32(3, 2, 3, 3))]),
    ("conv_transpose2d", lambda L, x, w, b: F(L).conv_transpose2d(x, w, b, stride=2),
     [Grad(f32(1, 2, 3, 3)), Grad(f32(2, 3, 2, 2)), Grad(f32(3))]),
    ("conv2d_channel_error", lambda L, x, w: F(L).conv2d(x, w), [f32(1, 2, 4, 4), f32(3, 5, 3, 3)]),
    # float32
    ("mse_loss", lambda L, a, b: F(L).mse_loss(a, b), [Grad(bf16(3, 4)), bf16(3, 4)]),
    ("mse_loss_mixed", lambda L, a, b: F(L).mse_loss(a, b), [Grad(f32(3, 4)), bf16(3, 4)]),
    ("l1_loss_none", lambda L, a, b: F(L).l1_loss(a, b, reduction="none"), [Grad(bf16(3)), bf16(3)]),
    ("nll_loss", lambda L, a, t: F(L).nll_loss(a, t), [Grad(bf16(4, 5)), LABELS]),
    ("cross_entropy", lambda L, a, t: F(L).cross_entropy(a, t), [Grad(bf16(4, 5)), LABELS]),
    ("cross_entropy_f32", lambda L, a, t: F(L).cross_entropy(a, t, label_smoothing=0.1),
     [Grad(f32(4, 5)), LABELS]),
    ("bce", lambda L, a, b: F(L).binary_cross_entropy(a.sigmoid(), b),
     [Grad(bf16(6)), np.abs(bf16(6)) / 4]),
    ("bce_with_logits", lambda L, a, b: F(L).binary_cross_entropy_with_logits(a, b),
     [Grad(bf16(2, 3)), np.abs(bf16(2, 3)) / 4]),
    ("smooth_l1_loss", lambda L, a, b: F(L).smooth_l1_loss(a, b, beta=0.5), [Grad(bf16(3, 4)), bf16(3, 4)]),
    ("huber_loss", lambda L, a, b: F(L).huber_loss(a, b), [Grad(bf16(5)), f32(5)]),
    ("kl_div", lambda L, a, b: F(L).kl_div(a, b, reduction="batchmean"),
     [Grad(bf16(2, 3)), np.abs(bf16(2, 3))]),
    ("soft_margin_loss", lambda L, a, b: F(L).soft_margin_loss(a, b), [Grad(bf16(4)), np.sign(bf16(4))]),
    ("hinge_embedding_loss", lambda L, a, b: F(L).hinge_embedding_loss(a, b),
     [Grad(bf16(4)), np.sign(bf16(4))]),
    ("prelu", lambda L, a, w: F(L).prelu(a, w), [Grad(f32(2, 3, 2)), Grad(np.full(3, 0.25, np.float32))]),
    # linear algebra: float32 (the casts come before the functions' dtype checks), or
    # PyTorch's errors where its autocast does not reach
    ("cholesky", lambda L, a: L.linalg.cholesky(a), [Grad(spd_bf16(3))]),
    ("cholesky_ex", lambda L, a: L.linalg.cholesky_ex(a).L, [Grad(spd_bf16(3))]),
    ("torch.cholesky", lambda L, a: L.cholesky(a), [Grad(spd_bf16(3))]),
    ("inv", lambda L, a: L.linalg.inv(a), [Grad(spd_bf16(3))]),
    ("inverse", lambda L, a: L.inverse(a), [Grad(spd_bf16(3))]),
    ("solve", lambda L, a, b: L.linalg.solve(a, b), [Grad(spd_bf16(3)), Grad(bf16(3, 2))]),
    ("qr", lambda L, a: L.linalg.qr(a).R, [Grad(bf16(4, 3))]),
    ("svdvals", lambda L, a: L.linalg.svdvals(a), [Grad(bf16(4, 3))]),
    ("eigvalsh", lambda L, a: L.linalg.eigvalsh(a), [Grad(spd_bf16(3))]),
    ("lstsq", lambda L, a, b: L.linalg.lstsq(a, b).solution, [Grad(bf16(4, 3)), bf16(4, 2)]),
    ("cond", lambda L, a: L.linalg.cond(a), [spd_bf16(3)]),
    ("matrix_rank", lambda L, a: L.linalg.matrix_rank(a), [bf16(4, 3)]),
    ("cholesky_solve", lambda L, b, a: L.cholesky_solve(b, L.linalg.cholesky(a)),
     [Grad(bf16(3, 2)), spd_bf16(3)]),
    ("triangular_solve", lambda L, b, a: L.triangular_solve(b, a.tril(), upper=False).solution,
     [Grad(bf16(3, 2)), spd_bf16(3)]),
    ("geqrf", lambda L, a: L.geqrf(a), [bf16(4, 3)]),
    ("trace", lambda L, a: L.trace(a), [Grad(bf16(3, 3))]),
    ("det_error", lambda L, a: L.linalg.det(a), [spd_bf16(3)]),
    ("slogdet_error", lambda L, a: L.linalg.slogdet(a), [spd_bf16(3)]),
    ("lu_factor_error", lambda L, a: L.linalg.lu_factor(a), [spd_bf16(3)]),
    # run in the dtype they get (not on PyTorch's CPU lists)
    ("softmax", lambda L, a: F(L).softmax(a, -1), [Grad(bf16(3, 4))]),
    ("log_softmax_f32", lambda L, a: F(L).log_softmax(a, 0), [Grad(f32(3, 4))]),
    ("sum", lambda L, a: a.sum(0), [Grad(bf16(3, 4))]),
    ("exp_relu", lambda L, a: F(L).relu(a.exp()), [Grad(bf16(5))]),
    ("layer_norm", lambda L, a, w: F(L).layer_norm(a, (4,), w), [Grad(bf16(2, 4)), Grad(f32(4))]),
    ("add_mixed", lambda L, a, b: a + b, [Grad(f32(3)), Grad(bf16(3))]),
    # promote
    ("cat_mixed", lambda L, a, b: L.cat([a, b]), [Grad(f32(2)), Grad(bf16(3))]),
    ("stack_mixed", lambda L, a, b: L.stack([a, b], 1), [Grad(f32(2)), Grad(bf16(2))]),
]

FP16_OPS = ["mm", "mm_mixed", "linear", "conv2d", "mse_loss", "cross_entropy", "matmul_batched"]


def _case(name):
    return next(c for c in OPS if c[0] == name)


# gradients flow through lower-precision ops before the cast back to float32: they carry
# that dtype's rounding, so they are compared at bfloat16's tolerance
GRAD_TOL = dict(grad_rtol=1.6e-2, grad_atol=1e-2)


@pytest.mark.parametrize("name,fn,inputs", OPS, ids=[c[0] for c in OPS])
def test_autocast_bf16_op_table(name, fn, inputs):
    check(under("bfloat16", fn), *inputs, **GRAD_TOL)


@pytest.mark.parametrize("name", FP16_OPS)
def test_autocast_fp16_op_table(name):
    _, fn, inputs = _case(name)
    check(under("float16", fn), *inputs, **GRAD_TOL)


def _mlp(L, x, w1, b1, w2, b2, t):
    h = F(L).relu(F(L).linear(x, w1, b1))
    return F(L).cross_entropy(F(L).linear(h, w2, b2), t)


def _cnn(L, x, w1, b1, w2, b2, t):
    h = F(L).max_pool2d(F(L).relu(F(L).conv2d(x, w1, b1, padding=1)), 2)
    logits = F(L).linear(h.flatten(1), w2, b2)
    return logits, F(L).cross_entropy(logits, t)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_mlp_forward_backward(dtype):
    """A two-layer MLP under autocast: loss float32, gradients float32 and equal to torch's."""
    inputs = [f32(4, 6), Grad(f32(8, 6)), Grad(f32(8)), Grad(f32(5, 8)), Grad(f32(5)), LABELS]
    check(under(dtype, _mlp), *inputs, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_cnn_forward_backward(dtype):
    inputs = [f32(4, 2, 6, 6), Grad(f32(3, 2, 3, 3) / 2), Grad(f32(3)), Grad(f32(4, 27) / 4),
              Grad(f32(4)), LABELS]
    check(under(dtype, _cnn), *inputs, rtol=2e-2, atol=2e-2)


def test_module_training_step_grads_are_float32():
    """nn.Linear under autocast: bfloat16 activations, float32 parameter gradients."""
    model = ember.nn.Sequential(ember.nn.Linear(6, 8), ember.nn.ReLU(), ember.nn.Linear(8, 3))
    x = ember.randn(4, 6)
    with ember.autocast("cpu"):
        out = model(x)
        loss = ember.nn.functional.cross_entropy(out, ember.tensor([0, 1, 2, 0]))
    assert out.dtype is ember.bfloat16 and loss.dtype is ember.float32
    loss.backward()
    for p in model.parameters():
        assert p.grad is not None and p.grad.dtype is ember.float32


# ------------------------------------------------------------------------------ the context

def test_state_nesting_and_disable():
    def states(L):
        out = [L.is_autocast_enabled("cpu"), L.is_autocast_enabled(), L.get_autocast_dtype("cpu")]
        a, b = L.ones(2, 2), L.ones(2, 2)
        with L.autocast("cpu"):
            out += [L.is_autocast_enabled("cpu"), L.get_autocast_dtype("cpu"), L.mm(a, b).dtype]
            with L.autocast("cpu", dtype=L.float16):
                out += [L.get_autocast_dtype("cpu"), L.mm(a, b).dtype]
                with L.autocast("cpu", enabled=False):
                    out += [L.is_autocast_enabled("cpu"), L.mm(a, b).dtype]
                out += [L.is_autocast_enabled("cpu"), L.mm(a, b).dtype]
            out += [L.get_autocast_dtype("cpu"), L.mm(a, b).dtype]
        out += [L.is_autocast_enabled("cpu"), L.mm(a, b).dtype, L.get_autocast_dtype("cuda")]
        return [str(v).replace("ember.", "torch.") for v in out]
    assert states(ember) == states(torch)


def test_decorator_and_amp_alias():
    @ember.autocast("cpu")
    def f(a):
        return ember.mm(a, a)

    assert ember.amp.autocast is ember.autocast
    assert f(ember.ones(2, 2)).dtype is ember.bfloat16
    assert not ember.is_autocast_enabled("cpu")
    with ember.amp.autocast(device_type="cpu", dtype=ember.float16):
        assert ember.mm(ember.ones(2, 2), ember.ones(2, 2)).dtype is ember.float16


def test_state_restored_after_exception():
    with pytest.raises(RuntimeError):
        with ember.autocast("cpu"):
            ember.mm(ember.ones(2, 3), ember.ones(2, 3))
    assert not ember.is_autocast_enabled("cpu")
    assert ember.mm(ember.ones(2, 2), ember.ones(2, 2)).dtype is ember.float32


@pytest.mark.parametrize("args", [("xyz",), (1,), ("meta",)])
def test_constructor_errors(args):
    with pytest.raises(Exception) as te:
        torch.autocast(*args)
    with pytest.raises(type(te.value)):
        ember.autocast(*args)


@pytest.mark.parametrize("fname", ["is_autocast_enabled", "get_autocast_dtype"])
def test_state_query_errors(fname):
    with pytest.raises(RuntimeError):
        getattr(torch, fname)("xyz")
    with pytest.raises(RuntimeError):
        getattr(ember, fname)("xyz")


def _warnings_of(make):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        obj = make()
    return obj, [(x.category, str(x.message).replace("ember.", "torch.")) for x in w]


@pytest.mark.parametrize("make", [
    lambda L: L.autocast("cuda"),
    lambda L: L.autocast("cpu", dtype=L.float32),
    lambda L: L.autocast("cpu", dtype=L.float64),
    lambda L: L.cuda.amp.autocast(),
    lambda L: L.amp.GradScaler(),
    lambda L: L.cuda.amp.GradScaler(),
], ids=["cuda", "cpu_float32", "cpu_float64", "cuda_amp_autocast", "scaler_cuda",
        "cuda_amp_scaler"])
def test_disabled_with_torchs_warnings(make, request):
    if "cuda" in request.node.callspec.id and ember.cuda.is_available():
        pytest.skip("compares with CPU-only torch's warnings; ember has CUDA here")
    e, ew = _warnings_of(lambda: make(ember))
    t, tw = _warnings_of(lambda: make(torch))
    assert ew == tw
    enabled = getattr(t, "_enabled")
    assert getattr(e, "_enabled") == enabled


def test_disabled_region_sets_its_dtype():
    """PyTorch records a disabled region's dtype too (autocast('cpu', dtype=float32))."""
    for L in (torch, ember):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            region = L.autocast("cpu", dtype=L.float32)
        with region:
            assert not L.is_autocast_enabled("cpu")
            assert L.get_autocast_dtype("cpu") is L.float32
        assert L.get_autocast_dtype("cpu") is L.bfloat16


def test_weight_cast_is_cached():
    """A float32 leaf weight used twice is cast once (one ToCopy node), as in PyTorch."""
    for L in (torch, ember):
        w = L.ones(3, 3, requires_grad=True)
        x = L.ones(2, 3)
        with L.autocast("cpu"):
            y1, y2 = L.mm(x, w), L.mm(x, w)
        n1, n2 = y1.grad_fn.next_functions[1][0], y2.grad_fn.next_functions[1][0]
        assert n1.name() == "ToCopyBackward0" and n1 is n2
        with L.autocast("cpu", cache_enabled=False):
            z1, z2 = L.mm(x, w), L.mm(x, w)
        assert z1.grad_fn.next_functions[1][0] is not z2.grad_fn.next_functions[1][0]
        (y1.sum() + y2.sum()).backward()
        assert w.grad.dtype is L.float32 and float(w.grad.sum()) == 2 * 2 * 9


def test_custom_fwd_bwd():
    seen = {}

    class Square(ember.autograd.Function):
        @staticmethod
        @ember.amp.custom_fwd(device_type="cpu", cast_inputs=ember.float32)
        def forward(ctx, x):
            seen["fwd"] = (x.dtype, ember.is_autocast_enabled("cpu"))
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @ember.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            seen["bwd"] = ember.is_autocast_enabled("cpu")
            return 2 * x * g

    x = ember.ones(3, dtype=ember.bfloat16, requires_grad=True)
    with ember.autocast("cpu"):
        y = Square.apply(x)
    y.sum().backward()
    assert seen == {"fwd": (ember.float32, False), "bwd": False}
    assert y.dtype is ember.float32 and x.grad.dtype is ember.bfloat16


# ------------------------------------------------------------------------------ GradScaler

def _scaler_run(L, inf_steps, **kw):
    """A linear model trained with SGD through GradScaler('cpu'); gradients of the steps in
    `inf_steps` are made inf (one entry) or nan. Returns what each step showed."""
    g = np.random.default_rng(1)
    w0, x0, y0 = (g.standard_normal(s).astype(np.float32) for s in ((3, 4), (5, 4), (5, 3)))
    model = L.nn.Linear(4, 3, bias=False)
    with L.no_grad():
        model.weight.copy_(L.from_numpy(w0.copy()))
    opt = L.optim.SGD(model.parameters(), lr=0.1)
    scaler = L.amp.GradScaler("cpu", **kw)
    log = []
    for step in range(9):
        opt.zero_grad()
        with L.autocast("cpu"):
            loss = L.nn.functional.mse_loss(model(L.from_numpy(x0)), L.from_numpy(y0))
        scaled = scaler.scale(loss)
        scaled.backward()
        if step in inf_steps:
            model.weight.grad[0, 0] = float("inf") if step % 2 else float("nan")
        if step == 4:
            scaler.unscale_(opt)  # explicit unscale before step, as for gradient clipping
        ret = scaler.step(opt)
        scaler.update()
        log.append((float(scaled.detach().float()), ret is None, scaler.get_scale(),
                    scaler._get_growth_tracker(), model.weight.detach().numpy().copy(),
                    scaler.state_dict()))
    return log


@pytest.mark.parametrize("kw", [dict(init_scale=2.0 ** 10, growth_interval=2),
                                dict(init_scale=3.0, growth_factor=3.0, backoff_factor=0.25,
                                     growth_interval=3)])
def test_grad_scaler_sequence_matches_torch(kw):
    inf_steps = {1, 2, 6}
    e_log, t_log = _scaler_run(ember, inf_steps, **kw), _scaler_run(torch, inf_steps, **kw)
    w0 = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    for step, (e, t) in enumerate(zip(e_log, t_log)):
        assert e[1:4] == t[1:4], f"step {step}: {e[1:4]} != {t[1:4]}"
        np.testing.assert_allclose(e[0], t[0], rtol=2e-2, err_msg=f"scaled loss, step {step}")
        np.testing.assert_allclose(e[4], t[4], rtol=1e-2, atol=1e-3, err_msg=f"step {step}")
        assert e[5] == t[5]
    weights = [w0] + [e[4] for e in e_log]
    skipped = {i for i in range(len(e_log)) if np.array_equal(weights[i], weights[i + 1])}
    assert skipped == inf_steps


def _scaler_errors(L):
    p = L.nn.Parameter(L.ones(2))
    opt = L.optim.SGD([p], lr=1.0)
    s = L.amp.GradScaler("cpu")
    out = []

    def attempt(f):
        try:
            f()
            out.append(None)
        except Exception as exc:
            out.append(type(exc).__name__)
    attempt(lambda: s.step(opt))          # before scale(): AssertionError
    attempt(lambda: s.update())
    s.scale(p.sum()).backward()
    s.unscale_(opt)
    attempt(lambda: s.unscale_(opt))       # twice: RuntimeError
    s.step(opt)
    attempt(lambda: s.step(opt))           # step twice: RuntimeError
    attempt(lambda: s.unscale_(opt))       # unscale after step: RuntimeError
    s.update()
    attempt(lambda: s.step(opt, closure=lambda: 0))
    attempt(lambda: s.load_state_dict({}))
    attempt(lambda: L.amp.GradScaler("cpu", growth_factor=1.0))
    attempt(lambda: L.amp.GradScaler("cpu", backoff_factor=1.0))
    attempt(lambda: s.scale(3))
    q = L.nn.Parameter(L.ones(2).half())
    q.grad = L.ones(2).half()
    s.scale(p.sum())
    attempt(lambda: s.unscale_(L.optim.SGD([q], lr=1.0)))  # float16 gradients: ValueError
    return out


def test_grad_scaler_errors_match_torch():
    assert _scaler_errors(ember) == _scaler_errors(torch)


def test_grad_scaler_scale_collections_state_and_pickle():
    for L in (torch, ember):
        s = L.amp.GradScaler("cpu", init_scale=4.0)
        a, b = L.ones(2), L.full((3,), 2.0)
        out = s.scale([a, (b, a)])
        assert isinstance(out, list) and isinstance(out[1], tuple)
        assert out[1][0].tolist() == [8.0, 8.0, 8.0]
        assert s.update(new_scale=2.0) is None and s.get_scale() == 2.0
        s.update(new_scale=L.tensor(16.0))
        assert s.get_scale() == 16.0
        s2 = pickle.loads(pickle.dumps(s))
        assert s2.get_scale() == 16.0 and s2.state_dict() == s.state_dict()
        s3 = L.amp.GradScaler("cpu")
        s3.load_state_dict(s.state_dict())
        assert s3.get_scale() == 16.0
        off = L.amp.GradScaler("cpu", enabled=False)
        assert (off.is_enabled(), off.get_scale(), off.state_dict(), off.scale(a) is a) == \
            (False, 1.0, {}, True)


def test_import_names():
    assert ember.cuda.amp.GradScaler.__mro__[1] is ember.amp.GradScaler
    assert callable(ember.amp.custom_fwd) and callable(ember.cuda.amp.custom_bwd)
    assert ember.amp.is_autocast_available("cpu") and ember.amp.is_autocast_available("cuda")
    with pytest.raises(RuntimeError):
        ember.amp.is_autocast_available("xyz")


def test_autocast_on_device(device):
    """The same region on each device: CPU always, CUDA where a GPU is (compared with CPU)."""
    x = ember.randn(3, 4)
    w = ember.randn(5, 4, requires_grad=True)
    with ember.autocast(device):
        y = ember.nn.functional.linear(x.to(device), w.to(device))
    ref = ember.nn.functional.linear(x.to(ember.bfloat16), w.detach().to(ember.bfloat16))
    expect = ember.float16 if device == "cuda" else ember.bfloat16
    assert y.dtype is expect
    assert_same(y.cpu().float(), torch.from_numpy(ref.float().numpy()), rtol=2e-2, atol=2e-2)
