"""Shared pieces of the distribution tests: build one distribution in ember and in torch
from the same NumPy parameters, and compare every property both expose."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

SAMPLE_SHAPES = [(), (3,), (2, 3)]


def to_np(x):
    if isinstance(x, (ember.Tensor, torch.Tensor)):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def assert_close(e, t, rtol=1e-5, atol=1e-6, what=""):
    """ember value e matches torch value t: shape, dtype and numbers (NaN == NaN)."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"{what}: ember gave {type(e).__name__}"
        assert tuple(e.shape) == tuple(t.shape), \
            f"{what}: shape {tuple(e.shape)} vs {tuple(t.shape)}"
        assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], \
            f"{what}: dtype {e.dtype} vs {t.dtype}"
    np.testing.assert_allclose(to_np(e), to_np(t), rtol=rtol, atol=atol, equal_nan=True,
                               err_msg=what)


def make_args(lib, spec, dtype, requires_grad):
    """spec: {name: numpy array | number | ("int", array)}; float arrays become tensors of
    `dtype` (requiring grad when asked), ints stay ints."""
    dt = getattr(lib, dtype)
    out = {}
    for k, v in spec.items():
        if isinstance(v, np.ndarray):
            if v.dtype.kind == "f":
                out[k] = lib.tensor(v, dtype=dt, requires_grad=requires_grad)
            else:
                out[k] = lib.tensor(v)
        else:
            out[k] = v
    return out


def grads_of(args):
    return {k: v.grad for k, v in args.items()
            if isinstance(v, (ember.Tensor, torch.Tensor)) and v.requires_grad}


def compare_grads(e_args, t_args, rtol, atol, what):
    eg, tg = grads_of(e_args), grads_of(t_args)
    assert eg.keys() == tg.keys()
    for k in tg:
        if tg[k] is None:
            assert eg[k] is None or np.all(to_np(eg[k]) == 0), f"{what}: grad of {k}"
        else:
            assert eg[k] is not None, f"{what}: no gradient reached {k}"
            assert_close(eg[k], tg[k], rtol, atol, f"{what}: grad of {k}")


def zero_grads(args):
    for v in args.values():
        if isinstance(v, (ember.Tensor, torch.Tensor)) and v.grad is not None:
            v.grad = None


def call_both(fe, ft):
    """(ember result, torch result), or (exception type, exception type)."""
    try:
        t = ft()
    except Exception as exc:  # noqa: BLE001  the oracle decides what is an error
        with pytest.raises(type(exc)):
            fe()
        return None, None
    return fe(), t


def check_distribution(name, spec, value, dtype, rtol=1e-5, atol=1e-6, grad=True,
                       value_is_float=True, icdf_value=None, skip=()):
    """Build distribution `name` from `spec` in both libraries and compare shapes, repr,
    log_prob (values and parameter gradients), cdf/icdf, entropy, moments, samples
    (shapes, dtype, support), rsample gradients and expand."""
    t_cls = getattr(torch.distributions, name)
    e_cls = getattr(ember.distributions, name)
    t_args = make_args(torch, spec, dtype, grad)
    e_args = make_args(ember, spec, dtype, grad)
    td, ed = t_cls(**t_args), e_cls(**e_args)
    assert tuple(ed.batch_shape) == tuple(td.batch_shape)
    assert tuple(ed.event_shape) == tuple(td.event_shape)
    assert ed.has_rsample == td.has_rsample
    assert ed.has_enumerate_support == td.has_enumerate_support
    assert repr(ed.support) == repr(td.support).replace("torch.", "ember.")
    assert repr(ed).replace("ember.", "torch.") == repr(td)

    vdt = dtype if value_is_float else "int64"
    tv = torch.tensor(value, dtype=getattr(torch, vdt))
    ev = ember.tensor(value, dtype=getattr(ember, vdt))
    # log_prob and its gradients
    tl, el = td.log_prob(tv), ed.log_prob(ev)
    assert_close(el, tl, rtol, atol, f"{name}.log_prob")
    if grad and tl.requires_grad:
        tl.sum().backward(retain_graph=True)
        el.sum().backward(retain_graph=True)
        compare_grads(e_args, t_args, rtol * 10, atol * 10, f"{name}.log_prob")
        zero_grads(t_args)
        zero_grads(e_args)
    # entropy and its gradients
    e, t = call_both(lambda: ed.entropy(), lambda: td.entropy())
    if t is not None:
        assert_close(e, t, rtol, atol, f"{name}.entropy")
        if grad and t.requires_grad:
            t.sum().backward(retain_graph=True)
            e.sum().backward(retain_graph=True)
            compare_grads(e_args, t_args, rtol * 10, atol * 10, f"{name}.entropy")
            zero_grads(t_args)
            zero_grads(e_args)
    # moments
    for prop in ("mean", "mode", "variance", "stddev"):
        if prop in skip:
            continue
        e, t = call_both(lambda: getattr(ed, prop), lambda: getattr(td, prop))
        if t is not None:
            assert_close(e, t, rtol, atol, f"{name}.{prop}")
    # cdf / icdf
    e, t = call_both(lambda: ed.cdf(ev), lambda: td.cdf(tv))
    if t is not None:
        assert_close(e, t, rtol, atol, f"{name}.cdf")
    if icdf_value is not None:
        tq = torch.tensor(icdf_value, dtype=getattr(torch, dtype))
        eq = ember.tensor(icdf_value, dtype=getattr(ember, dtype))
        e, t = call_both(lambda: ed.icdf(eq), lambda: td.icdf(tq))
        if t is not None:
            assert_close(e, t, rtol * 10, atol * 10, f"{name}.icdf")
    # samples: shape, dtype, support
    for shape in SAMPLE_SHAPES:
        ts, es = td.sample(shape), ed.sample(shape)
        assert tuple(es.shape) == tuple(ts.shape), f"{name}.sample{shape}"
        assert str(es.dtype).split(".")[-1] == str(ts.dtype).split(".")[-1]
        assert bool(ed.support.check(es).all()), f"{name}.sample{shape} outside support"
        assert not es.requires_grad
    # rsample: differentiable in every float parameter
    if ed.has_rsample and grad:
        r = ed.rsample((4,))
        assert tuple(r.shape) == tuple(td.rsample((4,)).shape)
        r.sum().backward()
        for k, g in grads_of(e_args).items():
            assert g is not None and bool(ember.isfinite(g).all()), f"{name}.rsample grad of {k}"
        zero_grads(e_args)
    elif not ed.has_rsample:
        with pytest.raises(NotImplementedError):
            ed.rsample()
    # expand: a larger batch, same log_prob per entry
    shape = (2,) + tuple(td.batch_shape)
    tx, ex = td.expand(shape), ed.expand(shape)
    assert tuple(ex.batch_shape) == tuple(tx.batch_shape)
    tv = tx.sample()
    ev = ember.tensor(tv.numpy())
    assert_close(ex.log_prob(ev), tx.log_prob(tv), rtol, atol, f"{name}.expand.log_prob")
    assert tuple(ex.sample((3,)).shape) == tuple(tx.sample((3,)).shape)
    return ed, td
