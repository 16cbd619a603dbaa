"""NumPy's parameter names (axis, keepdims, x/a/x1 for input, x2 for other), against torch:
the same call in both libraries gives the same values, or the same exception type.

PyTorch's C++ argument parser takes them for every function and Tensor method bound from
C++; the functions PyTorch writes in Python (nn.functional.softmax, torch.split, norm ...)
refuse them. ember/_numpy_aliases.py; bench/alias_sweep.py checks every name.
"""
import inspect
import pickle

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

CASES = [
    # dim / keepdim
    "L.sum(x, axis=0)", "x.sum(axis=0)", "x.mean(axis=1, keepdims=True)",
    "L.mean(x, 0, keepdims=True)", "L.max(x, axis=0)", "L.max(x, axis=1, keepdims=True)",
    "x.argmax(axis=0)", "L.argmin(x, axis=1, keepdims=True)", "L.cat([x, y], axis=0)",
    "L.stack([x, y], axis=1)", "L.squeeze(x[:1], axis=0)", "L.unsqueeze(x, axis=0)",
    "L.softmax(x, axis=0)", "x.softmax(axis=1)", "L.cumsum(x, axis=1)", "L.sort(x, axis=0)",
    "L.topk(x, 2, axis=0)", "L.gather(x, axis=0, index=idx)",
    "L.narrow(x, axis=0, start=0, length=1)",
    "L.std(x, axis=0)", "L.logsumexp(x, axis=1)", "L.all(x > 0.5, axis=0)", "x.size(axis=0)",
    "L.unbind(x, axis=1)", "L.linalg.vector_norm(x, axis=0, keepdims=True)",
    "L.linalg.norm(x, axis=0)", "L.fft.fft(x, axis=0)", "L.special.logsumexp(x, axis=0)",
    "L.special.softmax(x, axis=0)", "x.clone().cumsum_(axis=0)", "x.clone().unsqueeze_(axis=0)",
    "x.clone().index_fill_(axis=0, index=idx[0, :1], value=2.0)",
    "L.sum(x, axis=None)", "L.sum(x, axis=(0, 1))",
    # input / other
    "L.add(x1=x, x2=y)", "L.add(x, x2=y)", "L.add(a=x, other=y, alpha=2)", "L.abs(x=x)",
    "L.sum(a=x, axis=0)", "L.max(x, x2=y)", "L.where(x > 0.5, x1=x, x2=y)", "x.add(x2=y)",
    "x.clone().add_(x2=y)", "x.clone().mul_(x2=y)", "x.type_as(x2=y)",
    "x.clone().logical_and_(x2=y > 0.5)", "x.clone().logical_xor_(other=y > 0.5)",
    "L.linalg.eigh(x=s)", "L.linalg.eigh(input=s)", "L.linalg.vector_norm(a=x)",
    "L.linalg.matrix_norm(x1=s)", "L.det(x=s)", "L.nn.functional.linear(x=x, weight=y)",
    "L.nn.functional.conv1d(x=x[None], weight=y[None, :, :2])",
    "L.nn.functional.one_hot(x=idx[0])",
    # refused: functions PyTorch writes in Python
    "L.nn.functional.softmax(x, axis=0)", "L.nn.functional.relu(x=x)", "L.split(x, 1, axis=0)",
    "x.split(1, axis=0)", "L.norm(x, axis=0)", "x.norm(axis=0)", "L.unique(x, axis=0)",
    "L.tensordot(x, y.T, axis=1)", "L.nn.functional.normalize(x, axis=0)",
    # refused: a parameter given twice, two aliases of one parameter, an alias of self,
    # out= on a method
    "L.sum(x, dim=0, axis=1)", "L.sum(x, 0, axis=1)",
    "L.sum(x, axis=0, keepdims=True, keepdim=False)",
    "L.sum(x=x, a=x)", "L.sum(input=x, x=x)", "L.add(x, y, x2=y)", "x.sum(axis=0, dim=0)",
    "x.sum(x=x)", "x.sum(axis=0, out=x)", "x.add(x2=y, other=y)",
    # not aliases
    "L.sum(x, axes=0)", "L.transpose(x, axis0=0, axis1=1)", "L.flip(x, axis=0)",
]


def _env(L):
    g = np.random.default_rng(0)
    x = L.tensor(g.random((3, 4)), dtype=L.float32)
    y = L.tensor(g.random((3, 4)), dtype=L.float32)
    s = L.tensor(g.random((3, 3)) + 3 * np.eye(3), dtype=L.float64)
    s = s @ s.T
    idx = L.zeros(1, 4, dtype=L.int64)
    return {"L": L, "x": x, "y": y, "s": s, "idx": idx}


def _flat(r):
    if isinstance(r, (tuple, list)):
        return [v for item in r for v in _flat(item)]
    return [r]


def _outcome(L, expr):
    try:
        return "ok", _flat(eval(expr, _env(L)))
    except Exception as e:  # noqa: BLE001 - the exception type is compared
        return type(e).__name__, str(e)


@pytest.mark.parametrize("expr", CASES)
def test_same_as_torch(expr):
    t_kind, t_val = _outcome(torch, expr)
    e_kind, e_val = _outcome(ember, expr)
    assert e_kind == t_kind, (expr, t_val if t_kind != "ok" else None, e_val)
    if t_kind != "ok":
        return
    assert len(t_val) == len(e_val)
    for a, b in zip(t_val, e_val):
        if isinstance(a, torch.Tensor):
            assert tuple(a.shape) == tuple(b.shape)
            assert str(a.dtype)[6:] == str(b.dtype)[6:]
            an, bn = a.numpy(), b.numpy()
            if an.dtype.kind == "c" and expr.startswith("L.linalg.eig"):
                an, bn = np.abs(an), np.abs(bn)
            np.testing.assert_allclose(an, bn, rtol=1e-5, atol=1e-6)
        else:
            assert a == b


def test_refusal_names_the_alias():
    x = ember.ones(2, 3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'axis'"):
        ember.sum(x, dim=0, axis=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'out'"):
        x.mean(axis=0, out=x)


def test_gradients_through_an_alias():
    g = np.random.default_rng(1).random((3, 4))
    xt = torch.tensor(g, requires_grad=True)
    xe = ember.tensor(g, requires_grad=True)
    torch.logsumexp(xt * xt, axis=1, keepdims=True).sum().backward()
    ember.logsumexp(xe * xe, axis=1, keepdims=True).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), xe.grad.numpy(), rtol=1e-10)


def test_fronts_keep_names_and_pickle_by_reference():
    for fn in (ember.sum, ember.Tensor.sum, ember.add, ember.linalg.eigh,
               ember.nn.functional.linear, ember.special.logsumexp):
        assert pickle.loads(pickle.dumps(fn)) is fn
    assert ember.sum.__name__ == "sum" and ember.Tensor.mean.__name__ == "mean"
    assert ember.sum.__doc__ == ember.sum.__wrapped__.__doc__


def test_operators_and_plain_calls_are_not_wrapped():
    # a + b goes straight to the operator; ember's own modules hold the plain functions
    # (the autocast installer, once run, puts its entries in front of both)
    from ember._ops import reduction
    assert not hasattr(ember.Tensor.__add__, "_numpy_names")
    assert not hasattr(reduction.sum, "_numpy_names")
    # (ember.utils._python_dispatch, once imported, lays its out= front over ember.sum's:
    # the NumPy-name front is then one layer down)
    from ember._fronts import chain
    assert any(hasattr(f, "_numpy_names") for f in chain(ember.sum))
    assert inspect.unwrap(ember.sum) is inspect.unwrap(reduction.sum)
