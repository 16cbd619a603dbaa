"""The _foreach_* fast path on CUDA (CuPy) tensors: binary ops (number, numbers, list, add/sub
with alpha; in place and not), lerp_ with a number weight and _foreach_norm run on the
arrays with CuPy's ufuncs, no per-tensor op; values as the CPU's (within an ulp: CuPy's
multiply-adds round twice, as ember's single-tensor CUDA ops do). Runs where CUDA is there:
a GPU, or EMBER_FAKE_CUDA=1 (tests/fakecupy.py)."""
import numpy as np
import pytest

import ember

pytestmark = pytest.mark.skipif(not ember.cuda.is_available(),
                                reason="no CUDA device (EMBER_FAKE_CUDA=1 runs the fake)")

SHAPES = [(7,), (3, 5), (0,), (), (2, 2, 2)]


def _lists(device, dtype, count=2, seed=0):
    rng = np.random.default_rng(seed)
    return [[ember.from_numpy(np.asarray(rng.standard_normal(s) + 2, dtype=dtype)).to(device)
             for s in SHAPES] for _ in range(count)]


def _boom(*args, **kwargs):
    raise AssertionError("the per-tensor path ran")


CALLS = {
    "add_number": lambda a, b: ember._foreach_add_(a, 0.5),
    "mul_numbers": lambda a, b: ember._foreach_mul_(a, [0.5 * k + 1 for k in range(len(a))]),
    "sub_list": lambda a, b: ember._foreach_sub_(a, b),
    "add_alpha": lambda a, b: ember._foreach_add_(a, b, alpha=-0.3),
    "sub_alpha": lambda a, b: ember._foreach_sub_(a, b, alpha=2),
    "div_out": lambda a, b: ember._foreach_div(a, b),
    "add_alpha_out": lambda a, b: ember._foreach_add(a, b, alpha=0.7),
    "lerp_small": lambda a, b: ember._foreach_lerp_(a, b, 0.2),
    "lerp_large": lambda a, b: ember._foreach_lerp_(a, b, 0.9),
    "lerp_out": lambda a, b: ember._foreach_lerp(a, b, 0.6),
    "norm": lambda a, b: ember._foreach_norm(a),
    "norm_inf": lambda a, b: ember._foreach_norm([t for t in a if t.numel()], float("inf")),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(CALLS))
def test_foreach_cuda_fast_path_like_cpu(name, dtype, monkeypatch):
    expected = None
    for device in ("cpu", "cuda"):
        a, b = _lists(device, dtype)
        if device == "cuda":
            for method in ("add", "add_", "sub", "sub_", "mul", "mul_", "div", "div_",
                           "lerp", "lerp_"):
                monkeypatch.setattr(ember.Tensor, method, _boom)
            monkeypatch.setattr(ember.linalg, "vector_norm", _boom)
        versions = [t._version for t in a]
        out = CALLS[name](a, b)
        got = [t.cpu().numpy() for t in (out if out is not None else a)]
        if out is not None:
            assert all(t.device.type == device for t in out)
        bumped = [t._version - v for t, v in zip(a, versions)]
        if expected is None:
            expected = (got, bumped)
            continue
        monkeypatch.undo()
        for g, e in zip(got, expected[0]):
            assert g.shape == e.shape and g.dtype == e.dtype
            # (one rounding more than the CPU's FMA: an ulp of the operands, ~4 here)
            eps = np.finfo(dtype).eps
            np.testing.assert_allclose(g, e, rtol=2 * eps, atol=8 * eps)
        assert bumped == expected[1]


def test_foreach_cuda_mixed_devices_fall_back():
    """A list mixing CPU and CUDA tensors leaves the fast path: the per-tensor ops raise as
    torch's foreach does for tensors on different devices."""
    a = [ember.ones(3), ember.ones(3, device="cuda")]
    b = [ember.ones(3, device="cuda"), ember.ones(3, device="cuda")]
    with pytest.raises(RuntimeError):
        ember._foreach_add_(a, b, alpha=2.0)


def test_foreach_cuda_aliasing_operand():
    """An operand that is the tensor itself, and one that is a view of it."""
    x = ember.arange(6.0, device="cuda")
    ember._foreach_add_([x], [x], alpha=0.5)
    assert x.cpu().tolist() == [1.5 * k for k in range(6)]
    y = ember.arange(6.0, device="cuda")
    ember._foreach_lerp_([y], [y], 0.3)
    assert y.cpu().tolist() == [float(k) for k in range(6)]
