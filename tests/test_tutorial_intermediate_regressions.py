"""Defects found by running pytorch/tutorials' intermediate_source/ and advanced_source/
programs on ember (bench/script_probe.py); each case is a small program reproducing the
defect, run on both ember and torch and compared: values, dtypes and shapes, or the
exception type."""
import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import run as _run, same  # noqa: E402


def _exp_function(m):
    """forward_ad_usage: a custom Function keeps its output on ctx for jvp. The output has
    its history when jvp runs (PyTorch records first), so the tangent is differentiable."""
    class Fn(m.autograd.Function):
        @staticmethod
        def forward(ctx, foo):
            result = m.exp(foo)
            ctx.result = result
            return result

        @staticmethod
        def jvp(ctx, gI):
            return gI * ctx.result

    primal = m.tensor([0.5, -1.0, 2.0], dtype=m.float64, requires_grad=True)
    tangent = m.tensor([1.0, 2.0, -3.0], dtype=m.float64)
    with m.autograd.forward_ad.dual_level():
        out = Fn.apply(m.autograd.forward_ad.make_dual(primal, tangent))
        jvp = m.autograd.forward_ad.unpack_dual(out).tangent
        flags = [jvp.requires_grad, type(jvp.grad_fn).__name__]
        grad, = m.autograd.grad(jvp.sum(), primal)
    return [jvp, grad, flags]


CASES = {
    "function_jvp_sees_recorded_output": _exp_function,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_torch(name):
    got, want = _run(CASES[name], ember), _run(CASES[name], torch)
    assert same(got, want, rtol=1e-5, atol=1e-6, strict_types=True), (got, want)
