"""Defects found by running public programs (karpathy/nanoGPT, makemore, graykode/nlp-tutorial,
kuangliu/pytorch-cifar, rasbt/LLMs-from-scratch ...) on ember with bench/script_probe.py;
each case is the defect's core, a few lines run on both libraries and compared bit for bit
(values, dtypes and shapes) or by exception type and message."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import outcome  # noqa: E402


def _half_input(m, dtype):
    """A float16/bfloat16 tensor spanning the activations' interesting range (-9 .. 9)."""
    g = np.random.default_rng(0)
    values = (g.standard_normal((4, 32)) * 3).astype(np.float32)
    return m.tensor(values).to(getattr(m, dtype)).requires_grad_()


_HALF_ACTIVATIONS = {
    # rasbt/LLMs-from-scratch's Llama 3 / Qwen3 feed-forward: silu(fc1(x)) * fc2(x) in bfloat16
    "silu": lambda F, x: F.silu(x),
    "mish": lambda F, x: F.mish(x),
    "softplus": lambda F, x: F.softplus(x),
    "softplus_beta": lambda F, x: F.softplus(x, beta=2.0, threshold=5.0),
    "elu": lambda F, x: F.elu(x, alpha=0.7),
    "selu": lambda F, x: F.selu(x),
    "celu": lambda F, x: F.celu(x, alpha=1.3),
    "hardswish": lambda F, x: F.hardswish(x),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x),
    "logsigmoid": lambda F, x: F.logsigmoid(x),
    "glu": lambda F, x: F.glu(x, -1),
    "rms_norm": lambda F, x: F.rms_norm(x, (32,)),
    "rms_norm_weight": lambda F, x: F.rms_norm(x, (32,), x[0].detach() * 0.5),
}


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", sorted(_HALF_ACTIVATIONS))
def test_half_activation_rounds_once(name, dtype):
    """PyTorch's CPU kernels compute float16/bfloat16 activations in float32 and round once;
    ember's composites rounded after every step (x * sigmoid(x) twice), so a quarter of a
    bfloat16 Llama's SiLU outputs were an ulp off; rms_norm's default eps was bfloat16's
    2**-7 instead of float32's. The outputs must agree to the bit, the input gradients
    within one unit in the dtype's last place (the backward formulas round differently in
    float32). glu's gradient is held to the float32 gradient rounded once instead: PyTorch's
    glu backward rounds sigmoid(b) to the half type first, several units off where sigmoid(b)
    nears 1."""
    def program(m, upcast=False):
        x = _half_input(m, dtype)
        leaf = x.detach().float().requires_grad_() if upcast else x
        y = _HALF_ACTIVATIONS[name](m.nn.functional, leaf)
        weights = m.linspace(-1, 1, y.numel()).reshape(y.shape).to(y.dtype)
        (y * weights).sum().backward()
        grad = leaf.grad.to(getattr(m, dtype)) if upcast else leaf.grad
        return [y.to(getattr(m, dtype)), str(x.dtype).split(".")[1],
                str(grad.dtype).split(".")[1], grad.float()]
    got, want = outcome(program, ember), outcome(program, torch)
    assert got[:3] == want[:3]
    if name == "glu":
        want = outcome(lambda m: program(m, upcast=True), torch)
    grad, grad_want = np.array(got[3][1]), np.array(want[3][1])
    bits = 10 if dtype == "float16" else 7
    ulp = 2.0 ** (np.floor(np.log2(np.maximum(np.abs(grad_want), 2.0 ** -24))) - bits)
    assert np.all(np.abs(grad - grad_want) <= ulp)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_inplace_activations(dtype):
    """The in-place forms (nn.SiLU(inplace=True), F.hardswish(x, inplace=True) ...) write the
    once-rounded result into their input."""
    def program(m):
        F = m.nn.functional
        x = _half_input(m, dtype).detach()
        outs = []
        for f in (F.silu, F.hardswish, F.mish, F.elu, F.selu, F.hardsigmoid):
            y = x.clone()
            r = f(y, inplace=True)
            outs += [y, r is y]
        return outs
    assert outcome(program, ember) == outcome(program, torch)
