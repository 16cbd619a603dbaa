"""In-place ops that save their output for backward (relu_, sigmoid_, tanh_, exp_ ...):
ember computes them out of place and writes the result into the tensor, so the node's
saved output must take that tensor's version counter. A later in-place write into it
then makes backward raise PyTorch's RuntimeError (it went through with stale values
before); untouched, the gradients equal torch's."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

OPS = {
    "relu_": lambda L, x: L.relu_(x * 1),
    "F.relu(inplace)": lambda L, x: L.nn.functional.relu(x * 1, inplace=True),
    "sigmoid_": lambda L, x: (x * 1).sigmoid_(),
    "tanh_": lambda L, x: (x * 1).tanh_(),
    "exp_": lambda L, x: (x * 1).exp_(),
    "view sigmoid_": lambda L, x: (x * 1)[1:].sigmoid_(),
    "F.elu(inplace)": lambda L, x: L.nn.functional.elu(x * 1, inplace=True),
    "F.elu_": lambda L, x: L.nn.functional.elu_(x * 1, 0.5),
    "nn.ELU(inplace)": lambda L, x: L.nn.ELU(2.0, inplace=True)(x * 1),
    "view F.elu(inplace)": lambda L, x: L.nn.functional.elu((x * 1)[1:], inplace=True),
    "F.selu(inplace)": lambda L, x: L.nn.functional.selu(x * 1, inplace=True),
    "selu_": lambda L, x: L.selu_(x * 1),
    "F.celu(inplace)": lambda L, x: L.nn.functional.celu(x * 1, 0.5, inplace=True),
    "nn.CELU(inplace)": lambda L, x: L.nn.CELU(1.5, inplace=True)(x * 1),
}
X = [-1.5, 0.25, 2.0, -0.5]


def _run(L, op, modify):
    x = L.tensor(X, requires_grad=True)
    out = OPS[op](L, x)
    if modify:
        out.add_(1)
    try:
        (out * L.arange(1.0, out.numel() + 1).reshape(out.shape)).sum().backward()
    except RuntimeError as e:
        return ("RuntimeError", str(e).split(" Hint:")[0])
    return ("grad", np.asarray(x.grad.tolist()))


@pytest.mark.parametrize("op", sorted(OPS))
def test_write_after_the_op_makes_backward_raise(op):
    want, got = _run(torch, op, True), _run(ember, op, True)
    assert got[0] == want[0]
    if want[0] == "RuntimeError":
        assert got[1] == want[1]


@pytest.mark.parametrize("op", sorted(OPS))
def test_untouched_output_gives_torchs_gradient(op):
    want, got = _run(torch, op, False), _run(ember, op, False)
    assert got[0] == want[0] == "grad"
    # (atol: an in-place ELU's gradient s (y + alpha) cancels where y nears -alpha, and y
    # may differ from PyTorch's in its last bit: expm1 is NumPy's, not Sleef's)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6, atol=2e-7)
