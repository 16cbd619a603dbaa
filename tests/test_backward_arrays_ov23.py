"""Backward formulas run on arrays when no graph of the gradients is recorded (session 23,
OV): sigmoid's and tanh's backward on small arrays (one fused kernel, pointwise_arrays.
fused_backward), two gradients for one output summed by the engine (add_grads), and mul's
input gradients. Each must give the bits and the layout of the composed ember ops (the
same backward run with create_graph=True, which records the ops instead) and PyTorch's
values."""
import numpy as np
import pytest
import torch

import ember

SHAPES = [(), (5,), (3, 4), (2, 3, 4)]
DTYPES = [("float32", 1e-6), ("float64", 1e-12)]


def _pair(shape, dtype, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype) * 3
    return ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _grads(fn, x, g, create_graph):
    """d fn(x) / dx for output gradient g, by ember.autograd.grad (create_graph records the
    gradients' ops: the composed path)."""
    y = fn(x)
    return ember.autograd.grad(y, x, g, create_graph=create_graph)[0]


def _same_bits_and_layout(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.stride() == b.stride()
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_unary_backward_small_on_arrays(name, shape, dtype, tol):
    x, tx = _pair(shape, dtype)
    g = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    fn = getattr(ember, name)
    arrays = _grads(fn, x, ember.tensor(g), False)
    composed = _grads(fn, x, ember.tensor(g), True)
    assert not arrays.requires_grad and composed.requires_grad
    _same_bits_and_layout(arrays, composed)
    getattr(torch, name)(tx).backward(torch.tensor(g))
    np.testing.assert_allclose(arrays.numpy(), tx.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_unary_backward_expanded_and_strided_gradients(name):
    """The gradient of a sum (an expanded single value) and a transposed input (its
    output transposed: composed ops keep that layout, so the array kernel stands aside)."""
    x, tx = _pair((3, 4), "float32")
    fn = getattr(ember, name)
    for f, tf in ((lambda t: fn(t).sum(), lambda t: getattr(torch, name)(t).sum()),
                  (lambda t: (fn(t.t()) * 2).sum(), lambda t: (getattr(torch, name)(t.t()) * 2).sum())):
        arrays = _grads(f, x, None, False)
        composed = _grads(f, x, None, True)
        _same_bits_and_layout(arrays, composed)
        tx.grad = None
        tf(tx).backward()
        np.testing.assert_allclose(arrays.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_unary_backward_overflow_is_quiet():
    """A huge gradient overflows to inf without a NumPy warning, as PyTorch's."""
    x = ember.zeros(3, requires_grad=True)
    with np.errstate(all="raise"):
        ember.sigmoid(x).backward(ember.full((3,), 3e38))
    tx = torch.zeros(3, requires_grad=True)
    torch.sigmoid(tx).backward(torch.full((3,), 3e38))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_two_gradients_for_one_output_summed():
    """x used twice: the engine adds the two gradients (on arrays without create_graph)."""
    for dtype in ("float32", "float64"):
        x, tx = _pair((4, 5), dtype)
        w = np.random.default_rng(3).standard_normal((4, 5)).astype(dtype)

        def f(t):
            y = t.tanh()
            return ((y * ember.tensor(w)) + y.exp()).sum()
        f(x).backward()
        ty = tx.tanh()
        ((ty * torch.tensor(w)) + ty.exp()).sum().backward()
        # (tanh near saturation: 1 - y^2 magnifies a last-bit difference of y)
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-6)
        _same_bits_and_layout(_grads(f, x, None, False), _grads(f, x, None, True))


def test_two_gradients_mixed_dtypes_and_shapes_still_add():
    """Gradients the array sum does not take (a float16 pair) go through the op."""
    x = ember.randn(3, 4).half().requires_grad_()
    y = x * 2
    (y + y).sum().backward()
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    ty = tx * 2
    (ty + ty).sum().backward()
    assert x.grad.dtype == ember.float16
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_double_backward_through_sigmoid_still_works():
    """create_graph keeps the composed ops: a second derivative exists and matches."""
    x, tx = _pair((4,), "float64")
    (g,) = ember.autograd.grad(ember.sigmoid(x).sum(), x, create_graph=True)
    g.sum().backward()
    (tg,) = torch.autograd.grad(torch.sigmoid(tx).sum(), tx, create_graph=True)
    tg.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_lstm_cell_gradients_match_torch():
    """The cell whose backward these paths serve (sigmoid, tanh, mul, a state used twice)."""
    ember.manual_seed(0)
    cell = ember.nn.LSTMCell(6, 5)
    tcell = torch.nn.LSTMCell(6, 5)
    with torch.no_grad():
        for p, tp in zip(cell.parameters(), tcell.parameters()):
            tp.copy_(torch.tensor(p.detach().numpy()))
    xs = np.random.default_rng(0).standard_normal((3, 4, 6)).astype("float32")
    h = c = None
    th = tc = None
    loss = tloss = 0
    for t in range(3):
        h, c = cell(ember.tensor(xs[t]), None if h is None else (h, c))
        th, tc = tcell(torch.tensor(xs[t]), None if th is None else (th, tc))
        loss = loss + (h * c).sum()
        tloss = tloss + (th * tc).sum()
    loss.backward()
    tloss.backward()
    for p, tp in zip(cell.parameters(), tcell.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=2e-5, atol=2e-6)


MUL_CASES = [
    ("same shape", lambda x, y: x * y),
    ("broadcast row", lambda x, y: x * y[:1]),
    ("0-dim factor", lambda x, y: x * y[0, 0]),
    ("python float", lambda x, y: x * 2.5),
    ("python int", lambda x, y: 3 * x),
    ("transposed", lambda x, y: x.t() * y.t()),
    ("expanded gradient", lambda x, y: (x * y).sum()),
]


@pytest.mark.parametrize("case", [c[0] for c in MUL_CASES])
@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_mul_backward_on_arrays(case, dtype, tol):
    f = dict(MUL_CASES)[case]
    x, tx = _pair((3, 3), dtype)
    y, ty = _pair((3, 3), dtype, seed=5)
    out = f(x, y)
    g = np.random.default_rng(2).standard_normal(tuple(out.shape)).astype(dtype)
    for wrt, twrt in ((x, tx), (y, ty)):
        arrays = ember.autograd.grad(f(x, y), wrt, ember.tensor(g), allow_unused=True)[0]
        composed = ember.autograd.grad(f(x, y), wrt, ember.tensor(g), allow_unused=True,
                                       create_graph=True)[0]
        expect = torch.autograd.grad(f(tx, ty), twrt, torch.tensor(g), allow_unused=True)[0]
        if expect is None:
            assert arrays is None and composed is None
            continue
        _same_bits_and_layout(arrays, composed)
        np.testing.assert_allclose(arrays.numpy(), expect.numpy(), rtol=tol, atol=tol)


def test_mul_backward_other_dtypes_take_the_op():
    """float16, complex and a float64 0-dim factor of a float32 tensor: PyTorch's values
    (these go through the ops, which widen, conjugate and promote)."""
    cases = [
        (np.float16, lambda x, y: x * y),
        (np.complex64, lambda x, y: x * y),
        (np.float32, lambda x, y: x * y[0, 0].double()),
    ]
    rng = np.random.default_rng(7)
    for dt, f in cases:
        a = (rng.standard_normal((3, 3)) + (1j * rng.standard_normal((3, 3))
             if np.dtype(dt).kind == "c" else 0)).astype(dt)
        b = (rng.standard_normal((3, 3)) + (1j * rng.standard_normal((3, 3))
             if np.dtype(dt).kind == "c" else 0)).astype(dt)
        x, y = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
        tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        gx, gy = ember.autograd.grad(f(x, y).abs().sum(), (x, y))
        tgx, tgy = torch.autograd.grad(f(tx, ty).abs().sum(), (tx, ty))
        for got, want in ((gx, tgx), (gy, tgy)):
            assert got.dtype.is_complex == want.dtype.is_complex
            assert str(got.dtype).split(".")[1] == str(want.dtype).split(".")[1]
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_zero_dim_products_and_sums(dtype):
    """0-dim operands: NumPy's ufuncs give scalars there, the gradients stay 0-dim tensors
    (the double backward of a summed loss meets them)."""
    x, tx = _pair((), dtype)
    y, ty = _pair((), dtype, seed=4)
    gx, gy = ember.autograd.grad(x * y + x * 2.0, (x, y))
    tgx, tgy = torch.autograd.grad(tx * ty + tx * 2.0, (tx, ty))
    for got, want in ((gx, tgx), (gy, tgy)):
        assert type(got._data) is np.ndarray and got.shape == ()
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    (g,) = ember.autograd.grad(ember.sigmoid(x) * x, x, create_graph=True)
    (tg,) = torch.autograd.grad(torch.sigmoid(tx) * tx, tx, create_graph=True)
    np.testing.assert_allclose(ember.autograd.grad(g, x)[0].numpy(),
                               torch.autograd.grad(tg, tx)[0].numpy(), rtol=1e-5)


def test_mul_backward_no_warning_on_overflow():
    x = ember.full((2,), 3e38, requires_grad=True)
    with np.errstate(all="raise"):
        (x * 10.0).backward(ember.full((2,), 3e38))
    assert np.isinf(x.grad.numpy()).all()
