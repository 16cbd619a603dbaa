"""Double backward of the piecewise-linear activations (relu, relu6, leaky_relu, rrelu,
hardtanh, threshold, hardshrink, softshrink, in and out of place) against PyTorch: the
first gradient of a create_graph backward requires grad (through the activation's input
or output) even when the incoming gradient does not, a second backward gives PyTorch's
values (zeros in x), the nodes carry PyTorch's names (ThresholdBackwardBackward0 ...),
and gradgradcheck passes in float64."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

_X = [[-1.5, -0.3, 0.2, 0.7, 2.5, 7.0], [0.1, -0.2, 3.0, -4.0, 0.5, 6.5]]


def _forward(lib, name, x):
    F = lib.nn.functional
    inplace = name.endswith("_")
    base = name[:-1] if inplace else name
    if inplace:
        x = x * 1.0   # a non-leaf to write into
    kw = {"inplace": True} if inplace else {}
    if base == "relu":
        return F.relu(x, **kw)
    if base == "relu6":
        return F.relu6(x, **kw)
    if base == "leaky_relu":
        return F.leaky_relu(x, 0.2, **kw)
    if base == "rrelu":
        return F.rrelu(x, 0.1, 0.3, training=False, **kw)
    if base == "hardtanh":
        return F.hardtanh(x, -0.25, 2.75, **kw)
    if base == "threshold":
        return F.threshold(x, 0.15, -1.0, **kw)
    if base == "hardshrink":
        return F.hardshrink(x, 0.25)
    if base == "softshrink":
        return F.softshrink(x, 0.25)
    raise AssertionError(name)


NAMES = ["relu", "relu_", "relu6", "relu6_", "leaky_relu", "leaky_relu_", "rrelu", "rrelu_",
         "hardtanh", "hardtanh_", "threshold", "threshold_", "hardshrink", "softshrink"]


def _second(lib, name, weighted):
    x = lib.tensor(np.array(_X), requires_grad=True)
    y = _forward(lib, name, x)
    out = (y * y).sum() if weighted else y.sum()
    g, = lib.autograd.grad(out, x, create_graph=True)
    gg, = lib.autograd.grad((g * g).sum() if weighted else g.sum(), x)
    return g, gg


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_second_gradient_matches_torch(name, weighted):
    g, gg = _second(ember, name, weighted)
    tg, tgg = _second(torch, name, weighted)
    assert g.requires_grad and tg.requires_grad
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gg.numpy(), tgg.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_backward_twice_into_grad(name):
    # g.sum().backward() after a create_graph grad: zeros accumulated, as PyTorch
    for lib in (ember, torch):
        x = lib.tensor(np.array(_X), requires_grad=True)
        g, = lib.autograd.grad(_forward(lib, name, x).sum(), x, create_graph=True)
        g.sum().backward()
        assert x.grad is not None and not x.grad.numpy().any()


@pytest.mark.parametrize("name", NAMES)
def test_node_names_match_torch(name):
    def names(lib):
        x = lib.tensor(np.array(_X), requires_grad=True)
        y = _forward(lib, name, x)
        g, = lib.autograd.grad(y.sum(), x, create_graph=True)
        return (y.grad_fn.name(), g.grad_fn.name(),
                [None if f is None else f.name() for f, _ in g.grad_fn.next_functions])
    assert names(ember) == names(torch)


def test_rrelu_training_second_gradient():
    # in training the slopes are drawn: g = slope where x <= 0; its gradient in x is zero
    x = ember.tensor(np.array(_X), requires_grad=True)
    y = ember.nn.functional.rrelu(x, 0.1, 0.3, training=True)
    g, = ember.autograd.grad(y.sum(), x, create_graph=True)
    assert g.requires_grad and g.grad_fn.name() == "RreluWithNoiseBackwardBackward0"
    slopes = g.detach().numpy()
    xs = np.array(_X)
    assert np.all(slopes[xs > 0] == 1) and np.all((slopes[xs <= 0] >= 0.1) & (slopes[xs <= 0] <= 0.3))
    np.testing.assert_allclose(y.detach().numpy(), xs * slopes)
    gg, = ember.autograd.grad((g * 3).sum(), x)
    assert not gg.numpy().any()


@pytest.mark.parametrize("name", NAMES)
def test_gradgradcheck(name):
    x = ember.tensor(np.array(_X), requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda x: _forward(ember, name, x), (x,))


def test_nan_input_passes_the_gradient_as_torch():
    # hardtanh_backward, hardshrink_backward, softshrink_backward, threshold_backward: a
    # NaN input passes the gradient (no comparison holds for it)
    v = [float("nan"), 0.3, -2.0, 0.25, -0.25, 1.0, -1.0]
    for name in ("hardtanh", "hardshrink", "softshrink", "threshold", "relu6"):
        res = []
        for lib in (ember, torch):
            x = lib.tensor(v, requires_grad=True)
            y = _forward(lib, name, x.view(1, 7))
            y.sum().backward()
            res.append((y.detach().numpy(), x.grad.numpy()))
        np.testing.assert_array_equal(res[0][0], res[1][0])
        assert np.array_equal(np.signbit(res[0][0]), np.signbit(res[1][0])), name
        np.testing.assert_array_equal(res[0][1], res[1][1])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_low_precision_values_and_gradients(dtype):
    xs = np.linspace(-3, 3, 25)
    for name in ("hardtanh", "threshold", "hardshrink", "softshrink", "relu6"):
        res = []
        for lib in (ember, torch):
            x = lib.tensor(xs, dtype=getattr(lib, dtype), requires_grad=True)
            y = _forward(lib, name, x)
            y.backward(lib.ones_like(y) * 0.3)
            res.append((y.detach().float().numpy(), x.grad.float().numpy(), y.dtype))
        assert str(res[0][2]).split(".")[1] == str(res[1][2]).split(".")[1]
        np.testing.assert_array_equal(res[0][0], res[1][0], err_msg=name)
        np.testing.assert_array_equal(res[0][1], res[1][1], err_msg=name)


def test_integer_inputs_keep_their_dtype():
    for lib in (ember, torch):
        F = lib.nn.functional
        t = lib.tensor([1, 5, -3])
        assert F.hardtanh(t, -2, 2).tolist() == [1, 2, -2]
        assert F.threshold(t, 1, 7).tolist() == [7, 5, 7]
