"""Small defects found by other helpers, each checked against PyTorch: the piecewise-linear
activations at NaN, infinities, signed zeros and their boundaries (values, gradients and
second gradients; PyTorch's CPU kernels answer differently at NaN in their vector body and
their scalar tail, so several lengths are compared)."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

_SPECIAL = [float("nan"), float("inf"), -float("inf"), -0.0, 0.0, 1.0, -1.0, 0.5, -0.5,
            6.0, -2.0, 2.0, 0.1, -0.1, 1e300, -1e300, -0.3, 0.3]


def _activation(lib, name, x):
    F = lib.nn.functional
    inplace = name.endswith("_")
    base = name.rstrip("_")
    if inplace:
        x = x * 1
    return {
        "relu": lambda: F.relu(x, inplace=inplace),
        "relu6": lambda: F.relu6(x, inplace=inplace),
        "leaky_relu": lambda: F.leaky_relu(x, 0.1, inplace=inplace),
        "rrelu": lambda: F.rrelu(x, training=False, inplace=inplace),
        "hardtanh": lambda: F.hardtanh(x, inplace=inplace),
        "hardtanh2": lambda: F.hardtanh(x, -2.0, 2.0, inplace=inplace),
        "threshold": lambda: F.threshold(x, 0.5, -3.0, inplace=inplace),
        "threshold0": lambda: F.threshold(x, 0.0, 0.0, inplace=inplace),
        "hardshrink": lambda: F.hardshrink(x),
        "softshrink": lambda: F.softshrink(x),
    }[base]()


_NAMES = ["relu", "relu_", "relu6", "relu6_", "leaky_relu", "leaky_relu_", "rrelu", "rrelu_",
          "hardtanh", "hardtanh_", "hardtanh2", "threshold", "threshold_", "threshold0",
          "hardshrink", "softshrink"]


def _run(lib, name, values, dtype, transpose=False):
    x = lib.tensor(values, dtype=getattr(lib, dtype), requires_grad=True)
    xin = x.view(-1, 2).t() if transpose else x
    y = _activation(lib, name, xin)
    g, = lib.autograd.grad(y.sum(), x, create_graph=True)
    gg, = lib.autograd.grad(g.sum(), x, allow_unused=True)
    as_np = lambda t: None if t is None else t.detach().float().numpy()
    return as_np(y), as_np(g), as_np(gg)


def _assert_same(name, got, want):
    for part, a, b in zip(("value", "grad", "second grad"), got, want):
        assert (a is None) == (b is None), (name, part)
        if a is None:
            continue
        np.testing.assert_array_equal(a, b, err_msg=f"{name} {part}")
        if name.startswith("relu") and part == "value":
            continue        # relu's -0.0 is pointwise.py's (EW's area), compared elsewhere
        zero = b == 0       # (a NaN's sign bit differs between PyTorch's own loops)
        assert np.array_equal(np.signbit(a[zero]), np.signbit(b[zero])), \
            f"{name} {part} sign of zero: {np.signbit(a)} vs torch {np.signbit(b)}"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", _NAMES)
def test_specials_against_torch(name, dtype):
    _assert_same(name, _run(ember, name, _SPECIAL, dtype), _run(torch, name, _SPECIAL, dtype))


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
@pytest.mark.parametrize("n", [5, 8, 13, 16, 17, 33, 40, 70])
@pytest.mark.parametrize("name", ["hardtanh", "relu6", "hardshrink", "softshrink",
                                  "hardtanh_", "threshold"])
def test_nan_and_zero_sign_by_length(name, n, dtype):
    # NaN and -0.3 spread over vector body and scalar tail of PyTorch's loops
    values = [[float("nan"), -0.3, -0.0, 0.3, 2.0][i % 5] for i in range(n)]
    _assert_same(name, _run(ember, name, values, dtype), _run(torch, name, values, dtype))


@pytest.mark.parametrize("name", ["hardtanh", "hardshrink", "softshrink"])
def test_nan_strided_input_against_torch(name):
    values = [[float("nan"), -0.3, -0.0, 0.3, 2.0][i % 5] for i in range(40)]
    _assert_same(name, _run(ember, name, values, "float32", transpose=True),
                 _run(torch, name, values, "float32", transpose=True))


def test_softshrink_of_infinities_warns_nothing():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = ember.nn.functional.softshrink(ember.tensor([float("inf"), -float("inf"), 0.2]))
    assert y.tolist()[:2] == [float("inf"), -float("inf")]


# ------------------------------------------------------------------ autocast is per thread

def _in_thread(fn):
    import threading
    out = {}
    t = threading.Thread(target=lambda: out.update(fn()))
    t.start()
    t.join()
    return out


def _thread_view(lib):
    a = lib.ones(2, 2)
    w = lib.ones(3, 2, requires_grad=True)
    return {"enabled": lib.is_autocast_enabled("cpu"),
            "dtype": str(lib.get_autocast_dtype("cpu")).split(".")[-1],
            "cache": lib.is_autocast_cache_enabled(),
            "mm": str((a @ a).dtype).split(".")[-1],
            "linear": str(lib.nn.functional.linear(a, w).dtype).split(".")[-1],
            "nesting": lib.autocast_increment_nesting() + 0 * lib.autocast_decrement_nesting()}


def test_autocast_state_is_per_thread_as_torch():
    def probe(lib):
        res = {}
        lib.set_autocast_enabled("cpu", True)
        lib.set_autocast_dtype("cpu", lib.float16)
        lib.set_autocast_cache_enabled(False)
        lib.autocast_increment_nesting()
        try:
            res["other"] = _in_thread(lambda: _thread_view(lib))
            res["here"] = _thread_view(lib)
        finally:
            lib.autocast_decrement_nesting()
            lib.set_autocast_cache_enabled(True)
            lib.set_autocast_dtype("cpu", lib.bfloat16)
            lib.set_autocast_enabled("cpu", False)
        with lib.autocast("cpu"):
            res["region_other"] = _in_thread(lambda: _thread_view(lib))
        res["after"] = _thread_view(lib)
        return res
    assert probe(ember) == probe(torch)


def test_autocast_region_in_a_thread_leaves_main_alone():
    import threading
    for lib in (ember, torch):
        inside, go_on = threading.Event(), threading.Event()
        seen = {}

        def worker():
            with lib.autocast("cpu"):
                a = lib.ones(2, 2)
                seen["worker"] = (a @ a).dtype
                inside.set()
                go_on.wait(10)
                seen["worker_after"] = (a @ a).dtype

        t = threading.Thread(target=worker)
        t.start()
        inside.wait(10)
        a = lib.ones(2, 2)
        seen["main"] = (a @ a).dtype
        seen["main_enabled"] = lib.is_autocast_enabled("cpu")
        go_on.set()
        t.join()
        assert seen == {"worker": lib.bfloat16, "worker_after": lib.bfloat16,
                        "main": lib.float32, "main_enabled": False}, lib.__name__


# ------------------------------------------- threshold & co on float16/bfloat16, parameters

_PARAM_OPS = {
    "threshold": lambda F, x, p: F.threshold(x, p, -5.0),
    "threshold_value": lambda F, x, p: F.threshold(x, 0.0, p),
    "hardtanh_min": lambda F, x, p: F.hardtanh(x, p, p + 10),
    "hardtanh_max": lambda F, x, p: F.hardtanh(x, p - 10, p),
    "hardshrink": lambda F, x, p: F.hardshrink(x, p),
    "softshrink": lambda F, x, p: F.softshrink(x, p),
}
_PARAMS = [0.3, 1 / 3, 0.1, 0.7, 1e-5, 0.5 - 1e-12, 0.5 + 1e-12, 70000.0, 1e39, float("inf"),
           -70000.0, 65504.0, 65519.0, 65520.0, 3.3895e38, 3.39e38, 3.4028235e38, 3.41e38]


def _param_run(lib, name, dtype, p):
    import warnings
    x = lib.tensor([p, -p, p * 1.0001, -p * 0.9999, 0.5, -1.0]).to(getattr(lib, dtype))
    x.requires_grad_()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = _PARAM_OPS[name](lib.nn.functional, x, p)
            y.sum().backward()
    except Exception as e:
        return type(e).__name__, str(e)
    return str(y.tolist()), str(x.grad.tolist())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("name", sorted(_PARAM_OPS))
def test_parameters_near_the_input_and_out_of_range_as_torch(name, dtype):
    # threshold compares in float32 with its threshold unrounded, hardshrink with lambd
    # rounded to the dtype, softshrink forward unrounded and backward rounded; a parameter
    # beyond the dtype raises PyTorch's RuntimeError (softshrink: its lambda range message)
    for p in _PARAMS:
        assert _param_run(ember, name, dtype, p) == _param_run(torch, name, dtype, p), p


def test_threshold_half_with_python_numbers_as_torch():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(400) * 3).astype(np.float32)
    for dtype in ("float16", "bfloat16"):
        for th, val in [(0.1, 20.0), (0.3, -1.7), (1 / 3, 0.1), (0.7, 0.7)]:
            got = ember.nn.functional.threshold(ember.tensor(x).to(getattr(ember, dtype)),
                                                th, val)
            want = torch.nn.functional.threshold(torch.tensor(x).to(getattr(torch, dtype)),
                                                 th, val)
            np.testing.assert_array_equal(got.float().numpy(), want.float().numpy())


# --------------------------------------------- narrowing casts and out-of-range fill values

def _outcome(fn):
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")      # NumPy's cast warnings must not leak
            r = fn()
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return str(r.dtype).split(".")[-1] + str(r.tolist())


_CASTS = ["h + lib.tensor(1e5)", "h * lib.tensor(1e5, dtype=lib.float64)",
          "lib.maximum(h, lib.tensor(1e5))", "lib.atan2(h, lib.tensor(1e5))",
          "h.float() + lib.tensor(1e39, dtype=lib.float64)", "h + lib.tensor(100000)",
          "h.bfloat16() + lib.tensor(1e39, dtype=lib.float64)",
          "lib.tensor([1e10, -1e10, 3.5]).to(lib.int32)", "lib.tensor([1e5]).to(lib.int16)",
          "lib.tensor([float('nan'), float('inf')]).int()",
          "lib.tensor([1e20, 2.0], dtype=lib.float64).long()"]
_FILLS = ["lib.full((2,), 1e5, dtype=lib.float16)", "lib.full((2,), 1e39, dtype=lib.bfloat16)",
          "lib.full((2,), 1e39)", "lib.full((2,), 70000, dtype=lib.bfloat16)",
          "lib.full((2,), float('inf'), dtype=lib.float16)", "h.fill_(1e5)", "h.fill_(65519.0)",
          "h.fill_(-65505.0)", "h.fill_(lib.tensor(1e5))", "lib.full_like(h, 1e5)",
          "lib.full((1,), 10**40)", "lib.full((1,), -2**63 - 1, dtype=lib.float16)",
          "lib.full((1,), 2**64, dtype=lib.float16)", "lib.full((1,), 2**63 - 1, dtype=lib.float16)",
          "lib.full((1,), 100000, dtype=lib.float16)", "lib.ones(1, dtype=lib.float16).fill_(10**40)",
          "lib.full((2,), 3.4e38, dtype=lib.float32)"]


@pytest.mark.parametrize("expr", _CASTS + _FILLS)
def test_narrowing_and_fill_values_as_torch(expr):
    def run(lib):
        h = lib.tensor([1.0, 2.0]).half()   # noqa: F841 (read by expr)
        return _outcome(lambda: eval(expr))
    assert run(ember) == run(torch)


# --------------------------------------- in-place threshold_/hardtanh_: slopes of the input

@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("case", ["threshold_up", "threshold_down", "hardtanh_hi", "relu6_nan"])
def test_inplace_gradient_reads_the_input_as_torch(case, dtype):
    # PyTorch's threshold_/hardtanh_ nodes save a clone of the input: a threshold value
    # above the threshold passes no gradient, a float16 input just past a bound none
    def run(lib):
        F = lib.nn.functional
        if case == "relu6_nan":
            values = [float("nan")] * 20 + [7.0, -1.0, 3.0, 6.0, 0.0]
        else:
            values = [0.1, -0.1, 0.10001, -0.09999, 0.5, -1.0, 0.3, 0.6]
        x = lib.tensor(values).to(getattr(lib, dtype)).requires_grad_()
        y = {"threshold_up": lambda t: F.threshold(t, 0.5, 2.0, inplace=True),
             "threshold_down": lambda t: F.threshold(t, 0.1, -3.0, inplace=True),
             "hardtanh_hi": lambda t: F.hardtanh(t, -9.9, 0.1, inplace=True),
             "relu6_nan": lambda t: F.relu6(t, inplace=True)}[case](x * 1)
        g, = lib.autograd.grad(y.sum(), x, create_graph=True)
        gg, = lib.autograd.grad(g.sum(), x)
        return str(y.tolist()), str(g.tolist()), g.requires_grad, str(gg.tolist())
    assert run(ember) == run(torch)


# ------------------------------------------- Python ints past int64/uint64 as operands

@pytest.mark.parametrize("expr", ["h + 10**40", "10**40 + h", "h * 10**40", "h.sub(10**30)",
                                  "h > 10**40", "h.div(10**40)", "h * 2**70", "f + 10**40",
                                  "f - 2**64", "f + (-2**63 - 1)", "f + (-2**63)", "f * 2**63",
                                  "i + 10**40", "i + 2**63", "f ** 10**40", "f.add_(10**40)",
                                  "f == 10**40", "h + 2**63"])
def test_huge_python_int_operands_as_torch(expr):
    def run(lib):
        h, f, i = lib.tensor([1.0, 2.0]).half(), lib.tensor([1.0]), lib.tensor([1, 2])  # noqa
        return _outcome(lambda: eval(expr))
    assert run(ember) == run(torch)
