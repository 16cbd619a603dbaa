"""nn.utils against torch: parametrizations.weight_norm / spectral_norm, parametrize
(register, assign through right_inverse, cached, remove), legacy weight_norm /
spectral_norm hooks, fuse_conv_bn_eval / fuse_linear_bn_eval, clip_grad_norm_ /
clip_grad_value_, parameters_to_vector / vector_to_parameters."""
import math
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.nn._compare import compare_module, copy_state
from tests.oracle.harness import Grad

rng = np.random.default_rng(0)


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


def P(L):
    return L.nn.utils.parametrizations


def legacy(fn_name, make_layer, **kw):
    def make(L):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(L.nn.utils, fn_name)(make_layer(L), **kw)
    return make


UTILS = [
    ("weight_norm", lambda L: P(L).weight_norm(L.nn.Linear(3, 4)), [Grad(f32(5, 3))], False),
    ("weight_norm-dim1", lambda L: P(L).weight_norm(L.nn.Linear(3, 4), dim=1),
     [Grad(f32(5, 3))], False),
    ("weight_norm-dimNone", lambda L: P(L).weight_norm(L.nn.Linear(3, 4), dim=None),
     [Grad(f32(5, 3))], False),
    ("weight_norm-conv", lambda L: P(L).weight_norm(L.nn.Conv2d(2, 3, 3)),
     [Grad(f32(1, 2, 5, 5))], False),
    ("spectral_norm-train", lambda L: P(L).spectral_norm(L.nn.Linear(3, 4)),
     [Grad(f32(5, 3))], True),
    ("spectral_norm-eval", lambda L: P(L).spectral_norm(L.nn.Linear(6, 4),
                                                        n_power_iterations=3),
     [Grad(f32(5, 6))], False),
    ("spectral_norm-convT", lambda L: P(L).spectral_norm(L.nn.ConvTranspose2d(2, 3, 2)),
     [Grad(f32(1, 2, 3, 3))], True),
    ("legacy-weight_norm", legacy("weight_norm", lambda L: L.nn.Linear(3, 4)),
     [Grad(f32(5, 3))], False),
    ("legacy-weight_norm-conv-dim", legacy("weight_norm", lambda L: L.nn.Conv1d(2, 3, 2), dim=2),
     [Grad(f32(2, 2, 5))], False),
    ("legacy-spectral_norm-train", legacy("spectral_norm", lambda L: L.nn.Linear(3, 4)),
     [Grad(f32(5, 3))], True),
    ("legacy-spectral_norm-eval", legacy("spectral_norm", lambda L: L.nn.Conv2d(2, 3, 2),
                                         n_power_iterations=2), [Grad(f32(1, 2, 3, 3))], False),
]


@pytest.mark.parametrize("name,make,args,train", UTILS, ids=[c[0] for c in UTILS])
def test_weight_and_spectral_norm(name, make, args, train):
    compare_module(make, args, train=train, rtol=1e-4, atol=1e-5)


def test_spectral_norm_buffers_follow_torch():
    tm, em = P(torch).spectral_norm(torch.nn.Linear(4, 3)), P(ember).spectral_norm(
        ember.nn.Linear(4, 3))
    copy_state(tm, em)
    x = f32(2, 4)
    for _ in range(3):
        tm(torch.from_numpy(x))
        em(ember.tensor(x))
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(em.state_dict()[k].cpu().numpy(), v.cpu().numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=k)
    # sigma is the largest singular value after many iterations
    for _ in range(50):
        em(ember.tensor(x))
    w = em.parametrizations.weight.original.detach().cpu().numpy()
    np.testing.assert_allclose(np.linalg.svd(em.weight.detach().cpu().numpy())[1][0], 1.0, rtol=1e-4)
    assert np.linalg.svd(w)[1][0] > 0


def test_weight_norm_values_and_legacy_keys():
    lin = ember.nn.Linear(3, 4)
    w0 = lin.weight.detach().cpu().numpy().copy()
    P(ember).weight_norm(lin)
    np.testing.assert_allclose(lin.weight.detach().cpu().numpy(), w0, rtol=1e-6)
    g = lin.parametrizations.weight.original0
    assert tuple(g.shape) == (4, 1)
    # a legacy state_dict (weight_g / weight_v) loads into the parametrized module
    old = {"weight_g": ember.ones(4, 1), "weight_v": ember.ones(4, 3), "bias": ember.zeros(4)}
    lin.load_state_dict(old)
    np.testing.assert_allclose(lin.weight.detach().cpu().numpy(), np.full((4, 3), 3 ** -0.5), rtol=1e-6)


class Symmetric:
    @staticmethod
    def make(L):
        class Sym(L.nn.Module):
            def forward(self, X):
                return X.triu() + X.triu(1).transpose(-1, -2)

            def right_inverse(self, A):
                return A.triu()
        return Sym()


def test_register_parametrization_against_torch():
    def make(L):
        m = L.nn.Linear(3, 3)
        L.nn.utils.parametrize.register_parametrization(m, "weight", Symmetric.make(L))
        return m
    compare_module(make, [Grad(f32(4, 3))], train=True)
    m = make(ember)
    w = m.weight.detach().cpu().numpy()
    np.testing.assert_allclose(w, w.T)
    assert type(m).__name__ == "ParametrizedLinear"
    assert ember.nn.utils.parametrize.is_parametrized(m, "weight")
    assert not ember.nn.utils.parametrize.is_parametrized(m, "bias")
    assert ember.nn.utils.parametrize.type_before_parametrizations(m) is ember.nn.Linear
    # assignment goes through right_inverse
    A = ember.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    m.weight = A
    np.testing.assert_allclose(m.parametrizations.weight.original.detach().cpu().numpy(),
                               np.triu(A.cpu().numpy()))
    with ember.nn.utils.parametrize.cached():
        assert m.weight is m.weight
    assert m.weight is not m.weight
    sym = m.weight.detach().cpu().numpy()
    ember.nn.utils.parametrize.remove_parametrizations(m, "weight")
    assert type(m) is ember.nn.Linear
    assert isinstance(m.weight, ember.nn.Parameter)
    np.testing.assert_allclose(m.weight.detach().cpu().numpy(), sym)
    assert list(m.state_dict()) == ["bias", "weight"]  # as torch: re-registered last


def test_parametrization_errors():
    for L in (torch, ember):
        m = L.nn.Linear(3, 3)

        class Shrink(L.nn.Module):
            def forward(self, X):
                return X[:2]
        with pytest.raises(ValueError):
            L.nn.utils.parametrize.register_parametrization(m, "weight", Shrink())
        with pytest.raises(ValueError):
            L.nn.utils.parametrize.register_parametrization(m, "nothing", Symmetric.make(L))
        with pytest.raises(ValueError):
            L.nn.utils.parametrize.remove_parametrizations(m, "weight")
        with pytest.raises(ValueError):
            P(L).spectral_norm(m, name="missing")


def test_remove_legacy_hooks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ember.nn.utils.weight_norm(ember.nn.Linear(3, 2))
    w = m.weight.detach().cpu().numpy().copy()
    ember.nn.utils.remove_weight_norm(m)
    assert sorted(n for n, _ in m.named_parameters()) == ["bias", "weight"]
    np.testing.assert_allclose(m.weight.detach().cpu().numpy(), w, rtol=1e-6)
    m = ember.nn.utils.spectral_norm(ember.nn.Linear(3, 2))
    ember.nn.utils.remove_spectral_norm(m)
    assert sorted(n for n, _ in m.named_parameters()) == ["bias", "weight"]
    with pytest.raises(ValueError):
        ember.nn.utils.remove_spectral_norm(m)


@pytest.mark.parametrize("kind", ["conv2d", "conv1d-nobias", "convT", "linear"])
def test_fusion(kind):
    outs = []
    x = f32(2, 3, 5, 5) if kind != "conv1d-nobias" else f32(2, 3, 6)
    for L in (torch, ember):
        if kind == "conv2d":
            layer, bn = L.nn.Conv2d(3, 4, 3), L.nn.BatchNorm2d(4)
        elif kind == "conv1d-nobias":
            layer, bn = L.nn.Conv1d(3, 4, 2, bias=False), L.nn.BatchNorm1d(4)
        elif kind == "convT":
            layer, bn = L.nn.ConvTranspose2d(3, 4, 2), L.nn.BatchNorm2d(4)
        else:
            layer, bn = L.nn.Linear(5, 4), L.nn.BatchNorm1d(4)
        outs.append((layer, bn))
    (tl, tb), (el, eb) = outs
    with torch.no_grad():
        tb.running_mean.uniform_(-1, 1)
        tb.running_var.uniform_(0.5, 2)
        tb.weight.uniform_(0.5, 2)
        tb.bias.uniform_(-1, 1)
    copy_state(tl, el)
    copy_state(tb, eb)
    for m in (tl, tb, el, eb):
        m.eval()
    xin = x if kind != "linear" else f32(3, 5)
    if kind == "linear":
        tf, ef = (L.nn.utils.fuse_linear_bn_eval(a, b) for L, a, b in
                  ((torch, tl, tb), (ember, el, eb)))
    else:
        tf, ef = (L.nn.utils.fuse_conv_bn_eval(a, b, transpose=kind == "convT") for L, a, b in
                  ((torch, tl, tb), (ember, el, eb)))
    with torch.no_grad():
        ref = tb(tl(torch.from_numpy(xin))).cpu().numpy()
        np.testing.assert_allclose(tf(torch.from_numpy(xin)).cpu().numpy(), ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ef(ember.tensor(xin)).detach().cpu().numpy(), ref, rtol=1e-4,
                               atol=1e-5)
    assert ef is not el and isinstance(ef.weight, ember.nn.Parameter)
    with pytest.raises(AssertionError):
        el.train()
        ember.nn.utils.fuse_conv_bn_eval(el, eb)


def grads_of(L, seed_arrays):
    params = [L.tensor(a.copy()).requires_grad_() for a in seed_arrays]
    for p, a in zip(params, seed_arrays):
        p.grad = L.tensor((a * 3).copy())
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1, 0.5, 3, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm(norm_type, max_norm):
    arrays = [f32(3, 4), f32(5), np.zeros((0,), np.float32)]
    if float(norm_type) == math.inf:  # torch: the inf norm of an empty tensor has no identity
        for L in (torch, ember):
            with pytest.raises(RuntimeError):
                L.nn.utils.clip_grad_norm_(grads_of(L, arrays), max_norm, norm_type=norm_type)
        arrays = arrays[:2]
    res = []
    for L in (torch, ember):
        ps = grads_of(L, arrays)
        total = L.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
        res.append((float(total), [p.grad.cpu().numpy().copy() for p in ps], str(total.dtype)))
    np.testing.assert_allclose(res[1][0], res[0][0], rtol=1e-5)
    assert res[1][2].split(".")[-1] == res[0][2].split(".")[-1]
    for a, b in zip(res[1][1], res[0][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_nonfinite_and_single_tensor():
    for L in (torch, ember):
        p = L.zeros(3, requires_grad=True)
        p.grad = L.tensor([1.0, float("inf"), 2.0])
        with pytest.raises(RuntimeError):
            L.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
        assert math.isinf(float(L.nn.utils.clip_grad_norm_(p, 1.0)))
        q = L.zeros(2, requires_grad=True)
        assert float(L.nn.utils.clip_grad_norm_([q], 1.0)) == 0.0  # no grads at all


@pytest.mark.parametrize("clip", [0.1, 1.0, 5])
def test_clip_grad_value(clip):
    arrays = [f32(3, 4), f32(5)]
    res = []
    for L in (torch, ember):
        ps = grads_of(L, arrays)
        L.nn.utils.clip_grad_value_(ps, clip)
        res.append([p.grad.cpu().numpy().copy() for p in ps])
    for a, b in zip(res[1], res[0]):
        np.testing.assert_array_equal(a, b)


def test_parameters_vector_roundtrip():
    for L in (torch, ember):
        L.manual_seed(0)
    tm, em = torch.nn.Linear(3, 2), ember.nn.Linear(3, 2)
    copy_state(tm, em)
    tv = torch.nn.utils.parameters_to_vector(tm.parameters())
    ev = ember.nn.utils.parameters_to_vector(em.parameters())
    np.testing.assert_array_equal(ev.detach().cpu().numpy(), tv.detach().cpu().numpy())
    new = np.arange(8, dtype=np.float32)
    torch.nn.utils.vector_to_parameters(torch.from_numpy(new), tm.parameters())
    ember.nn.utils.vector_to_parameters(ember.tensor(new), em.parameters())
    for (n, a), (_, b) in zip(tm.named_parameters(), em.named_parameters()):
        np.testing.assert_array_equal(b.detach().cpu().numpy(), a.detach().cpu().numpy(), err_msg=n)
    with pytest.raises(TypeError):
        ember.nn.utils.vector_to_parameters([1.0], em.parameters())


def orth(shape, **kw):
    def make(L):
        return P(L).orthogonal(L.nn.Linear(shape[1], shape[0]), **kw)
    return make


ORTHOGONAL = [(f"{m}-{s[0]}x{s[1]}-triv{t}", orth(s, orthogonal_map=m, use_trivialization=t), s)
              for s in ((4, 4), (3, 5), (5, 3)) for m in ("matrix_exp", "cayley", "householder")
              for t in (True, False)]
ORTHOGONAL += [(f"default-{s[0]}x{s[1]}", orth(s), s) for s in ((4, 4), (3, 5))]
ORTHOGONAL += [("default-wide-notriv", orth((3, 5), use_trivialization=False), (3, 5))]


@pytest.mark.parametrize("name,make,shape", ORTHOGONAL, ids=[c[0] for c in ORTHOGONAL])
def test_orthogonal_against_torch(name, make, shape):
    """torch's original (and base) copied into ember: weight, output and all grads agree."""
    compare_module(make, [Grad(f32(2, shape[1]))], rtol=1e-4, atol=1e-5)
    tm, em = make(torch), make(ember)
    assert list(em.state_dict()) == list(tm.state_dict())
    # ember's own initialization gives an orthogonal weight
    w = em.weight.detach().cpu().numpy().astype(np.float64)
    gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-5)


@pytest.mark.parametrize("kw,shape", [
    (dict(orthogonal_map="matrix_exp", use_trivialization=False), (4, 4)),
    (dict(orthogonal_map="cayley", use_trivialization=False), (3, 5)),
])
def test_orthogonal_assign_without_trivialization_raises(kw, shape):
    """Registering keeps the weight as the original (right_inverse's NotImplementedError
    counts as the identity); assigning raises."""
    for L in (torch, ember):
        m = orth(shape, **kw)(L)
        with pytest.raises(NotImplementedError):
            m.weight = L.zeros(*shape)


@pytest.mark.parametrize("kw", [dict(orthogonal_map="rotation"), dict(name="bias")])
def test_orthogonal_errors(kw):
    for L in (torch, ember):
        with pytest.raises(ValueError):
            P(L).orthogonal(L.nn.Linear(3, 4), **kw)


def test_orthogonal_batched_float64_assign_and_gradcheck():
    class Batched:
        @staticmethod
        def make(L):
            m = L.nn.Module()
            m.weight = L.nn.Parameter(L.zeros(2, 3, 3, dtype=L.float64))
            return m
    for kw in (dict(), dict(orthogonal_map="cayley"), dict(orthogonal_map="householder")):
        tm = P(torch).orthogonal(Batched.make(torch), **kw)
        em = P(ember).orthogonal(Batched.make(ember), **kw)
        copy_state(tm, em)
        np.testing.assert_allclose(em.weight.detach().cpu().numpy(), tm.weight.detach().cpu().numpy(),
                                   atol=1e-12)
        # assigning an orthogonal matrix reproduces it (trivialization stores it as base)
        q = np.linalg.qr(rng.standard_normal((2, 3, 3)))[0]
        em.weight = ember.tensor(q.copy())
        np.testing.assert_allclose(em.weight.detach().cpu().numpy(), q, atol=1e-10)
    from ember.autograd import gradcheck, gradgradcheck
    from ember.nn.utils.parametrizations import _matrix_exp, _householder_product
    a = ember.randn(3, 3, dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda t: _matrix_exp(t * 2), (a,))
    assert gradgradcheck(_matrix_exp, (a,))
    h = ember.randn(4, 3, dtype=ember.float64, requires_grad=True)
    tau = ember.rand(3, dtype=ember.float64, requires_grad=True)
    assert gradcheck(_householder_product, (h, tau))
    t_q = torch.linalg.householder_product(torch.from_numpy(h.detach().cpu().numpy()),
                                           torch.from_numpy(tau.detach().cpu().numpy()))
    np.testing.assert_allclose(_householder_product(h, tau).detach().cpu().numpy(), t_q.cpu().numpy(),
                               atol=1e-12)
    big = rng.standard_normal((4, 4)) * 3
    np.testing.assert_allclose(_matrix_exp(ember.tensor(big)).cpu().numpy(),
                               torch.matrix_exp(torch.from_numpy(big)).cpu().numpy(), rtol=1e-10)
