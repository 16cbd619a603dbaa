"""Transforms (forward, inverse, log|det J|, shapes, caching), biject_to/transform_to and
TransformedDistribution against torch.distributions."""
import numpy as np
import pytest

import ember
from tests.distributions._helpers import assert_close, torch

_r = np.random.default_rng(3)
X = _r.normal(size=(2, 3))
POS = _r.uniform(0.3, 2.0, (2, 3))
SCALE = _r.uniform(0.5, 2.0, 3) * np.array([1.0, -1.0, 1.0])
SHIFT = _r.normal(size=3)


def _tensor(lib, a, dtype="float64", grad=False):
    return lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=grad)


# name -> (builder(lib), input x in the domain)
TRANSFORMS = {
    "Exp": (lambda L: L.distributions.transforms.ExpTransform(), X),
    "AffineScalar": (lambda L: L.distributions.transforms.AffineTransform(1.5, -2.0), X),
    "AffineTensor": (lambda L: L.distributions.transforms.AffineTransform(
        _tensor(L, SHIFT), _tensor(L, SCALE)), X),
    "AffineEvent": (lambda L: L.distributions.transforms.AffineTransform(
        0.5, _tensor(L, SCALE), event_dim=1), X),
    "Sigmoid": (lambda L: L.distributions.transforms.SigmoidTransform(), X),
    "Tanh": (lambda L: L.distributions.transforms.TanhTransform(), X),
    "Softplus": (lambda L: L.distributions.transforms.SoftplusTransform(), X),
    "Power": (lambda L: L.distributions.transforms.PowerTransform(_tensor(L, 2.5)), POS),
    "Abs": (lambda L: L.distributions.transforms.AbsTransform(), X),
    "Softmax": (lambda L: L.distributions.transforms.SoftmaxTransform(), X),
    "StickBreaking": (lambda L: L.distributions.transforms.StickBreakingTransform(), X),
    "LowerCholesky": (lambda L: L.distributions.transforms.LowerCholeskyTransform(),
                      _r.normal(size=(2, 3, 3))),
    "Compose": (lambda L: L.distributions.transforms.ComposeTransform([
        L.distributions.transforms.AffineTransform(0.5, 2.0),
        L.distributions.transforms.ExpTransform(),
        L.distributions.transforms.PowerTransform(_tensor(L, 0.5))]), X),
    "ComposeEvent": (lambda L: L.distributions.transforms.ComposeTransform([
        L.distributions.transforms.ExpTransform(),
        L.distributions.transforms.AffineTransform(0.0, _tensor(L, SCALE), event_dim=1),
        L.distributions.transforms.StickBreakingTransform()]), X),
    "Independent": (lambda L: L.distributions.transforms.IndependentTransform(
        L.distributions.transforms.SigmoidTransform(), 1), X),
    "Reshape": (lambda L: L.distributions.transforms.ReshapeTransform((3,), (3, 1)), X),
    "Inverse": (lambda L: L.distributions.transforms.ExpTransform().inv, POS),
    "CorrCholesky": (lambda L: L.distributions.transforms.CorrCholeskyTransform(),
                     _r.normal(size=(2, 6))),
    "PositiveDefinite": (lambda L: L.distributions.transforms.PositiveDefiniteTransform(),
                         _r.normal(size=(2, 3, 3))),
    "Cat": (lambda L: L.distributions.transforms.CatTransform([
        L.distributions.transforms.ExpTransform(),
        L.distributions.transforms.AffineTransform(1.0, 3.0)], dim=1, lengths=[2, 1]), X),
    "CatBatch": (lambda L: L.distributions.transforms.CatTransform([
        L.distributions.transforms.SigmoidTransform(),
        L.distributions.transforms.ExpTransform()], dim=0, lengths=[1, 1]), X),
    "Stack": (lambda L: L.distributions.transforms.StackTransform([
        L.distributions.transforms.ExpTransform(),
        L.distributions.transforms.TanhTransform(),
        L.distributions.transforms.AffineTransform(1.0, -2.0)], dim=1), X),
    "CumulativeDistribution": (lambda L: L.distributions.transforms
                               .CumulativeDistributionTransform(L.distributions.Normal(
                                   _tensor(L, SHIFT), _tensor(L, POS[0]))), X),
    "InverseSigmoid": (lambda L: L.distributions.transforms.SigmoidTransform().inv,
                       _r.uniform(0.05, 0.95, (2, 3))),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_against_torch(name, dtype):
    tol = 1e-10 if dtype == "float64" else 2e-5
    build, x = TRANSFORMS[name]
    tt, et = build(torch), build(ember)
    assert repr(et.domain) == repr(tt.domain)
    assert repr(et.codomain) == repr(tt.codomain)
    assert et.bijective == tt.bijective
    assert et.domain.event_dim == tt.domain.event_dim
    assert et.codomain.event_dim == tt.codomain.event_dim
    tx, ex = _tensor(torch, x, dtype, True), _tensor(ember, x, dtype, True)
    ty, ey = tt(tx), et(ex)
    assert_close(ey, ty, tol, tol, f"{name} forward")
    assert tuple(et.forward_shape(ex.shape)) == tuple(tt.forward_shape(tx.shape))
    assert tuple(et.inverse_shape(ey.shape)) == tuple(tt.inverse_shape(ty.shape))
    ty0, ey0 = ty.detach(), ey.detach()
    assert_close(et.inv(ey0), tt.inv(ty0), tol * 10, tol * 10, f"{name} inverse")
    if tt.bijective:
        tj, ej = tt.log_abs_det_jacobian(tx, ty), et.log_abs_det_jacobian(ex, ey)
        assert_close(ej, tj, tol * 10, tol * 10, f"{name} log_abs_det_jacobian")
        (tj.sum() + ty.sum()).backward()
        (ej.sum() + ey.sum()).backward()
        assert_close(ex.grad, tx.grad, tol * 10, tol * 10, f"{name} gradient")
        t_sign, e_sign = call_or_error(lambda: tt.sign), call_or_error(lambda: et.sign)
        if isinstance(t_sign, type):
            assert e_sign is t_sign
        else:
            assert_close(ember.as_tensor(e_sign), torch.as_tensor(t_sign))


def call_or_error(fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        return type(exc)


def test_cache_returns_the_same_tensors():
    t = ember.distributions.transforms.ExpTransform(cache_size=1)
    x = ember.randn(3)
    y = t(x)
    assert t(x) is y
    assert t.inv(y) is x
    assert t.inv.inv is t
    t0 = ember.distributions.transforms.ExpTransform()
    assert t0(x) is not t0(x)
    with pytest.raises(ValueError):
        ember.distributions.transforms.ExpTransform(cache_size=2)
    tanh = ember.distributions.transforms.TanhTransform(cache_size=1)
    big = ember.tensor([30.0])
    assert tanh.inv(tanh(big)) is big  # no atanh(1) = inf on the cached path


def test_transform_equality_and_repr():
    T = ember.distributions.transforms
    assert T.ExpTransform() == T.ExpTransform()
    assert T.ExpTransform() != T.SigmoidTransform()
    assert T.AffineTransform(1.0, 2.0) == T.AffineTransform(1.0, 2.0)
    assert T.AffineTransform(1.0, 2.0) != T.AffineTransform(1.0, 3.0)
    tc = torch.distributions.transforms
    assert repr(T.ComposeTransform([T.ExpTransform(), T.SigmoidTransform()])) == \
        repr(tc.ComposeTransform([tc.ExpTransform(), tc.SigmoidTransform()]))
    assert repr(T.ExpTransform().inv) == repr(tc.ExpTransform().inv)
    assert T.identity_transform(ember.tensor([1.0])).item() == 1.0


MATS = _r.normal(size=(2, 3, 3))
X6 = _r.normal(size=(2, 6))
CONSTRAINTS = {
    "real": lambda C: C.real,
    "positive": lambda C: C.positive,
    "nonnegative": lambda C: C.nonnegative,
    "greater_than": lambda C: C.greater_than(1.5),
    "less_than": lambda C: C.less_than(-0.5),
    "unit_interval": lambda C: C.unit_interval,
    "interval": lambda C: C.interval(-1.0, 3.0),
    "half_open_interval": lambda C: C.half_open_interval(0.0, 2.0),
    "simplex": lambda C: C.simplex,
    "real_vector": lambda C: C.real_vector,
    "independent_positive": lambda C: C.independent(C.positive, 1),
    "lower_cholesky": lambda C: C.lower_cholesky,
    "corr_cholesky": lambda C: C.corr_cholesky,
    "positive_definite": lambda C: C.positive_definite,
    "positive_semidefinite": lambda C: C.positive_semidefinite,
}


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("name", sorted(CONSTRAINTS))
def test_constraint_registry(name, registry):
    x = {"lower_cholesky": MATS, "positive_definite": MATS, "positive_semidefinite": MATS,
         "corr_cholesky": X6}.get(name, X)
    tc = CONSTRAINTS[name](torch.distributions.constraints)
    ec = CONSTRAINTS[name](ember.distributions.constraints)
    try:
        tt = getattr(torch.distributions, registry)(tc)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            getattr(ember.distributions, registry)(ec)
        return
    et = getattr(ember.distributions, registry)(ec)
    assert type(et).__name__ == type(tt).__name__
    ty, ey = tt(torch.tensor(x)), et(ember.tensor(x))
    assert_close(ey, ty, 1e-10, 1e-10)
    assert bool(ec.check(ey).all())
    if tt.bijective:
        assert_close(et.log_abs_det_jacobian(ember.tensor(x), ey),
                     tt.log_abs_det_jacobian(torch.tensor(x), ty), 1e-10, 1e-10)
        assert_close(et.inv(ey), tt.inv(ty), 1e-8, 1e-8)


def test_registry_errors():
    C = ember.distributions.constraints
    with pytest.raises(NotImplementedError):
        ember.distributions.biject_to(C.boolean)
    with pytest.raises(NotImplementedError):
        torch.distributions.biject_to(torch.distributions.constraints.boolean)


def test_constraints_check():
    cases = [("positive", [-1.0, 0.0, 2.0]), ("nonnegative", [-1.0, 0.0, 2.0]),
             ("unit_interval", [-0.1, 0.5, 1.0]), ("real", [float("nan"), 1.0, float("inf")]),
             ("boolean", [0.0, 0.5, 1.0]), ("nonnegative_integer", [-1.0, 0.0, 2.5]),
             ("positive_integer", [0.0, 1.0, 3.0])]
    for name, v in cases:
        e = getattr(ember.distributions.constraints, name).check(ember.tensor(v))
        t = getattr(torch.distributions.constraints, name).check(torch.tensor(v))
        assert e.tolist() == t.tolist(), name
    mats = [np.eye(2), np.array([[1.0, 2.0], [2.0, 1.0]]), np.array([[1.0, 0.0], [1.0, 2.0]])]
    for name in ("positive_definite", "positive_semidefinite", "symmetric", "lower_triangular",
                 "lower_cholesky", "square", "corr_cholesky"):
        e = getattr(ember.distributions.constraints, name).check(ember.tensor(np.stack(mats)))
        t = getattr(torch.distributions.constraints, name).check(torch.tensor(np.stack(mats)))
        assert e.tolist() == t.tolist(), name
    vecs = np.array([[0.2, 0.8], [0.5, 0.6], [1.0, 0.0]])
    for name in ("simplex", "one_hot"):
        e = getattr(ember.distributions.constraints, name).check(ember.tensor(vecs))
        t = getattr(torch.distributions.constraints, name).check(torch.tensor(vecs))
        assert e.tolist() == t.tolist(), name
    e = ember.distributions.constraints.integer_interval(0, 3).check(ember.tensor([-1, 0, 3, 4]))
    assert e.tolist() == [False, True, True, False]
    with pytest.raises(ValueError):
        ember.distributions.constraints.dependent.check(ember.tensor(1.0))
    with pytest.raises(NotImplementedError):
        ember.distributions.constraints.dependent.event_dim


def _transformed(lib, dtype):
    D = lib.distributions
    T = D.transforms
    loc = _tensor(lib, TD_LOC, dtype, True)
    scale = _tensor(lib, TD_SCALE, dtype, True)
    base = D.Normal(loc, scale)
    d = D.TransformedDistribution(base, [T.AffineTransform(1.0, -2.0), T.ExpTransform()])
    return d, loc, scale


_r_td = np.random.default_rng(11)
TD_LOC, TD_SCALE = _r_td.normal(size=3), _r_td.uniform(0.5, 2, 3)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_transformed_distribution(dtype):
    tol = 1e-10 if dtype == "float64" else 2e-5
    (td, tl, ts), (ed, el, es) = _transformed(torch, dtype), _transformed(ember, dtype)
    assert tuple(ed.batch_shape) == tuple(td.batch_shape)
    assert repr(ed.support) == repr(td.support)
    assert ed.has_rsample
    v = _r_td.uniform(0.1, 3, (4, 3))
    tv, ev = _tensor(torch, v, dtype), _tensor(ember, v, dtype)
    tlp, elp = td.log_prob(tv), ed.log_prob(ev)
    assert_close(elp, tlp, tol, tol)
    tlp.sum().backward()
    elp.sum().backward()
    assert_close(el.grad, tl.grad, tol * 10, tol * 10)
    assert_close(es.grad, ts.grad, tol * 10, tol * 10)
    # a decreasing transform flips the cdf
    assert_close(ed.cdf(ev), td.cdf(tv), tol, tol)
    q = _tensor(torch, [0.1, 0.5, 0.8], dtype)
    assert_close(ed.icdf(ember.tensor(q.numpy())), td.icdf(q), tol * 10, tol * 10)
    assert tuple(ed.sample((5,)).shape) == tuple(td.sample((5,)).shape) == (5, 3)
    assert tuple(ed.expand((2, 3)).batch_shape) == (2, 3)
    r = ed.rsample((6,))
    el.grad = None
    r.sum().backward()
    assert el.grad is not None and bool(ember.isfinite(el.grad).all())
    with pytest.raises(ValueError):
        ember.distributions.TransformedDistribution(ember.distributions.Normal(0.0, 1.0), 3)


def test_transformed_distribution_changes_event_dims():
    """A stick-breaking map of a diagonal Normal: a distribution on the 4-simplex."""
    loc, scale = _r_td.normal(size=(2, 3)), _r_td.uniform(0.5, 1.5, (2, 3))
    out = {}
    for lib in (torch, ember):
        D = lib.distributions
        d = D.TransformedDistribution(D.Normal(lib.tensor(loc), lib.tensor(scale)),
                                      D.transforms.StickBreakingTransform())
        y = D.transforms.StickBreakingTransform()(lib.tensor(_r_td.normal(size=(2, 3))))
        out[lib] = (d, y)
    (td, ty), (ed, ey) = out[torch], out[ember]
    assert tuple(ed.batch_shape) == tuple(td.batch_shape) == (2,)
    assert tuple(ed.event_shape) == tuple(td.event_shape) == (4,)
    assert_close(ed.log_prob(ember.tensor(ty.numpy())), td.log_prob(ty), 1e-10, 1e-10)
    s = ed.sample((5,))
    assert tuple(s.shape) == (5, 2, 4)
    assert bool(ember.distributions.constraints.simplex.check(s).all())


def test_every_torch_distribution_name_exists():
    """ember.distributions and its transforms module have every public name of
    torch.distributions."""
    missing = [n for n in torch.distributions.__all__ if not hasattr(ember.distributions, n)]
    assert missing == []
    missing = [n for n in torch.distributions.transforms.__all__
               if not hasattr(ember.distributions.transforms, n)]
    assert missing == []
    with pytest.raises(AttributeError):
        ember.distributions.NoSuchDistribution
