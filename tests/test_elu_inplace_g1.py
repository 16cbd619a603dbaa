"""In-place ELU, SELU and CELU (inplace=True, F.elu_, torch.selu_, nn.ELU(inplace=True)) by
their own node against PyTorch: EluBackward1 / CeluBackward1 saving the output, values and
gradients (float32, float64, half types, double backward, forward AD, views), the signed
zeros, and the refusals (negative alpha in backward, a leaf, integers). The write-after
check itself is in tests/test_inplace_saved_output.py."""
import math

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")   # (torch.jit, in torch)

X = [-1.5, 0.25, 2.0, -0.5, 0.0, -0.0, math.nan, -30.0, 1e-30, -1e-30]

INPLACE = {
    "F.elu": lambda L, y: L.nn.functional.elu(y, inplace=True),
    "F.elu alpha": lambda L, y: L.nn.functional.elu(y, 0.3, inplace=True),
    "F.elu_": lambda L, y: L.nn.functional.elu_(y, 2.0),
    "nn.ELU": lambda L, y: L.nn.ELU(0.7, inplace=True)(y),
    "F.selu": lambda L, y: L.nn.functional.selu(y, inplace=True),
    "torch.selu_": lambda L, y: L.selu_(y),
    "nn.SELU": lambda L, y: L.nn.SELU(inplace=True)(y),
    "F.celu": lambda L, y: L.nn.functional.celu(y, 0.5, inplace=True),
    "torch.celu_": lambda L, y: L.celu_(y, 1.5),
    "nn.CELU": lambda L, y: L.nn.CELU(2.0, inplace=True)(y),
}
OUT_OF_PLACE = {
    "F.elu": lambda L, y: L.nn.functional.elu(y),
    "F.elu alpha": lambda L, y: L.nn.functional.elu(y, 0.3),
    "F.elu_": lambda L, y: L.nn.functional.elu(y, 2.0),
    "nn.ELU": lambda L, y: L.nn.functional.elu(y, 0.7),
    "F.selu": lambda L, y: L.nn.functional.selu(y),
    "torch.selu_": lambda L, y: L.nn.functional.selu(y),
    "nn.SELU": lambda L, y: L.nn.functional.selu(y),
    "F.celu": lambda L, y: L.nn.functional.celu(y, 0.5),
    "torch.celu_": lambda L, y: L.nn.functional.celu(y, 1.5),
    "nn.CELU": lambda L, y: L.nn.functional.celu(y, 2.0),
}


def _run(L, name, dtype):
    x = L.tensor(X, dtype=getattr(L, dtype), requires_grad=True)
    y = x * 1
    out = INPLACE[name](L, y)
    assert out is y and y._version == 1
    weights = L.arange(1.0, len(X) + 1).to(out.dtype)
    (out * weights).sum().backward()
    return out, x.grad, type(out.grad_fn).__name__


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("name", sorted(INPLACE))
def test_values_gradients_and_node_names(name, dtype):
    t_out, t_grad, t_node = _run(torch, name, dtype)
    e_out, e_grad, e_node = _run(ember, name, dtype)
    assert e_node == t_node   # EluBackward1 / CeluBackward1
    assert str(e_out.dtype) == str(t_out.dtype).replace("torch.", "ember.")
    want = t_out.detach().float().numpy()
    got = e_out.detach().float().numpy()
    # (float32: expm1 is NumPy's, PyTorch's Sleef's: an ulp apart in a few elements)
    tol = {"float64": 1e-12, "float32": 1e-6, "float16": 1e-3, "bfloat16": 8e-3}[dtype]
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 1e-1)
    # the signed zeros: zero of either sign stays itself
    np.testing.assert_array_equal(np.signbit(got[4:6]), np.signbit(want[4:6]))
    np.testing.assert_allclose(e_grad.float().numpy(), t_grad.float().numpy(),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_same_bits_as_out_of_place(name):
    """The in-place node computes the out-of-place composite's steps: the same values."""
    a = ember.tensor(X)
    b = ember.tensor(X)
    np.testing.assert_array_equal(INPLACE[name](ember, a).numpy()[[0, 1, 2, 3, 6, 7, 8, 9]],
                                  OUT_OF_PLACE[name](ember, b).numpy()[[0, 1, 2, 3, 6, 7, 8, 9]])


@pytest.mark.parametrize("name", ["F.elu alpha", "F.selu", "F.celu"])
def test_double_backward(name):
    """create_graph: the gradient reads the saved output, itself differentiable."""
    def run(L):
        x = L.tensor(X[:5], dtype=L.float64, requires_grad=True)
        y = INPLACE[name](L, x * 1)
        g, = L.autograd.grad((y * y).sum(), x, create_graph=True)
        h, = L.autograd.grad((g * g).sum(), x)
        return np.asarray(g.tolist()), np.asarray(h.tolist())
    (tg, th), (eg, eh) = run(torch), run(ember)
    np.testing.assert_allclose(eg, tg, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(eh, th, rtol=1e-12, atol=1e-12)


def test_forward_ad_and_views():
    def run(L):
        fa = L.autograd.forward_ad
        with fa.dual_level():
            x = fa.make_dual(L.tensor(X[:5], dtype=L.float64), L.arange(1.0, 6.0, dtype=L.float64))
            tangent = fa.unpack_dual(L.nn.functional.elu(x * 1, inplace=True)).tangent
        x = L.tensor(X[:6], requires_grad=True)
        base = x * 1
        L.nn.functional.celu(base[::2], 0.5, inplace=True)
        (base * L.arange(1.0, 7.0)).sum().backward()
        return np.asarray(tangent.tolist()), np.asarray(x.grad.tolist()), base.grad_fn.name()
    (tt, tg, tn), (et, eg, en) = run(torch), run(ember)
    np.testing.assert_allclose(et, tt, rtol=1e-12)
    np.testing.assert_allclose(eg, tg, rtol=1e-6, atol=2e-7)   # (celu: s (y + alpha) cancels)
    assert en.rsplit("::", 1)[-1] == tn.rsplit("::", 1)[-1] == "CopySlices"


def test_refusals():
    for L in (torch, ember):
        x = L.tensor(X, requires_grad=True)
        y = L.nn.functional.elu(x * 1, -0.5, inplace=True)   # (forward runs)
        with pytest.raises(RuntimeError, match="negative slope which is not supported"):
            y.sum().backward()
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            L.nn.functional.elu(x, inplace=True)
        with pytest.raises(NotImplementedError, match="elu_cpu"):
            L.nn.functional.elu(L.tensor([1, 2]), inplace=True)


def test_negative_alpha_values_and_no_grad():
    """alpha < 0 (forward only) and the no-grad path write the same values as PyTorch."""
    outs = []
    for L in (torch, ember):
        a = L.tensor(X)
        L.nn.functional.elu(a, -0.5, inplace=True)
        b = L.tensor(X)
        with L.no_grad():
            L.nn.functional.selu(b, inplace=True)
        outs.append((a.numpy(), b.numpy(), a._version, b._version))
    (ta, tb, tva, tvb), (ea, eb, eva, evb) = outs
    np.testing.assert_allclose(ea, ta, rtol=1e-6)
    np.testing.assert_allclose(eb, tb, rtol=1e-6)
    np.testing.assert_array_equal(np.signbit(ea), np.signbit(ta))
    assert (eva, evb) == (tva, tvb) == (1, 1)
