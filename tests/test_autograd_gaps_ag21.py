"""Autograd gaps closed in session 21, each against PyTorch:

- hardswish / hardsigmoid / prelu by PyTorch's nodes: first gradients at the kinks (+-3,
  0), create_graph gradients that require grad (PreluKernelBackwardBackward0,
  HardswishBackwardBackward0, hardsigmoid's NotImplemented node that raises), second
  derivatives (hardswish's 0 at +-3; prelu's x >= 0 switch);
- F.bilinear's checks (dtypes, shapes) and its refusal of a complex product autograd would
  record;
- reshape's graph: clone + _unsafe_view for a copy (CloneBackward0, as under linear of a
  transposed 3-D input), ReshapeAliasBackward0 for a view of a non-contiguous tensor;
- disable_saved_tensors_hooks per thread;
- vmap vectorizes while another thread (not this one) runs autocast.
"""
import threading

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

LIBS = (torch, ember)


def _np(t):
    if t is None:
        return None
    return np.asarray(t.detach().double().tolist() if t.dim() else t.detach().double().item())


def _same(a, b, rtol=0, atol=0):
    if a is None or b is None:
        assert a is None and b is None
        return
    np.testing.assert_allclose(_np(b), _np(a), rtol=rtol, atol=atol, equal_nan=True)


def _outcome(fn, lib):
    try:
        return ("ok", fn(lib))
    except Exception as e:  # noqa: BLE001 - the type and message are compared
        return ("raised", type(e).__name__, str(e))


# ---------------------------------------------------------------------------- hardswish

_KINKS = [-4.0, -3.0, -2.5, -1.0, 0.0, 0.5, 2.999, 3.0, 3.5]


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
@pytest.mark.parametrize("name", ["hardswish", "hardsigmoid"])
def test_hard_activation_values_and_grads_at_kinks(name, dtype):
    res = []
    for lib in LIBS:
        x = lib.tensor(_KINKS, dtype=getattr(lib, dtype), requires_grad=True)
        y = getattr(lib.nn.functional, name)(x)
        g, = lib.autograd.grad(y, x, lib.linspace(0.5, 2.0, len(_KINKS)).to(x.dtype))
        res.append((y, g, y.grad_fn.name(), g.dtype))
    (yt, gt, nt, dt), (ye, ge, ne, de) = res
    assert ne == nt == ("HardswishBackward0" if name == "hardswish" else "HardsigmoidBackward0")
    assert str(de).split(".")[1] == str(dt).split(".")[1]
    _same(yt, ye)
    _same(gt, ge)


def test_hardswish_second_derivative_and_create_graph():
    res = []
    for lib in LIBS:
        x = lib.tensor(_KINKS, dtype=lib.float64, requires_grad=True)
        go = lib.tensor([1.5, -2.0, 0.5, 1.0, 2.0, -1.0, 3.0, 0.25, 1.0], dtype=lib.float64,
                        requires_grad=True)
        y = lib.nn.functional.hardswish(x)
        g, = lib.autograd.grad(y, x, go, create_graph=True)
        v = lib.linspace(-1.0, 1.0, len(_KINKS), dtype=lib.float64)
        gx, ggo = lib.autograd.grad((g * v).sum(), (x, go))
        res.append((g, g.requires_grad, g.grad_fn.name(), gx, ggo))
    (g1, r1, n1, gx1, go1), (g2, r2, n2, gx2, go2) = res
    assert r1 and r2 and n1 == n2 == "HardswishBackwardBackward0"
    _same(g1, g2)
    _same(gx1, gx2, atol=1e-15)    # 0 at x = +-3, g v / 3 strictly inside
    _same(go1, go2)


def test_hardswish_inplace_and_gradgradcheck():
    for lib in LIBS:
        x = lib.tensor([-3.5, -1.0, 0.5, 2.0, 4.0], dtype=lib.float64, requires_grad=True)
        y = lib.nn.functional.hardswish(x * 1.0, inplace=True)
        assert y.grad_fn.name() == "HardswishBackward0"
        y.sum().backward()
    x = ember.tensor([-2.5, -1.0, 0.5, 2.0, 2.9], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(ember.nn.functional.hardswish, (x,))
    assert ember.autograd.gradgradcheck(ember.nn.functional.hardswish, (x,))


def test_hardsigmoid_create_graph_requires_grad_and_double_backward_raises():
    out = []
    for lib in LIBS:
        x = lib.tensor([-3.0, -1.0, 0.5, 3.0, 4.0], dtype=lib.float64, requires_grad=True)
        g, = lib.autograd.grad(lib.nn.functional.hardsigmoid(x).sum(), x, create_graph=True)
        assert g.requires_grad and g.grad_fn.name() == "torch::autograd::NotImplemented"
        assert repr(g.grad_fn).startswith("<NotImplemented object")
        with pytest.raises(RuntimeError) as e:
            g.sum().backward()
        out.append((g, str(e.value)))
    _same(out[0][0], out[1][0])
    assert out[0][1] == out[1][1] == "derivative for aten::hardsigmoid_backward is not implemented"


def test_hard_activation_gradient_layout_follows_the_gradient():
    for lib in LIBS:
        x = lib.randn(2, 3, 4, 5).contiguous(memory_format=lib.channels_last).requires_grad_()
        for f in (lib.nn.functional.hardswish, lib.nn.functional.hardsigmoid):
            g, = lib.autograd.grad(f(x), x, lib.ones(2, 3, 4, 5))
            assert g.is_contiguous()


# ------------------------------------------------------------------------------- prelu

def _chain(fn, out=None):
    """Node names depth first."""
    out = [] if out is None else out
    if fn is not None:
        out.append(fn.name().replace("torch::autograd::", ""))
        for n, _ in fn.next_functions:
            _chain(n, out)
    return out


_PRELU_X = [[-1.0, 2.0, 0.0, -0.5], [0.5, -3.0, 0.0, 1.5], [0.0, -2.0, 4.0, -0.25]]


@pytest.mark.parametrize("shape, channels", [((3, 4), 1), ((3, 4), 4), ((2, 3, 2), 3),
                                             ((12,), 1), ((), 1), ((), 0), ((12,), 0),
                                             ((3, 4), 0)])
def test_prelu_graph_and_first_gradients(shape, channels):
    res = []
    for lib in LIBS:
        x = lib.tensor(_PRELU_X, dtype=lib.float64).flatten()[:int(np.prod(shape))]
        x = x.reshape(shape).requires_grad_()
        w = lib.tensor([0.25, -0.5, 2.0, 0.75][:channels] if channels else -0.5,
                       dtype=lib.float64, requires_grad=True)   # (0: a 0-dim weight)
        y = lib.nn.functional.prelu(x, w)
        gx, gw = lib.autograd.grad(y, (x, w), lib.ones_like(y) * 1.5)
        res.append((y, gx, gw, _chain(y.grad_fn)))
    (y1, gx1, gw1, c1), (y2, gx2, gw2, c2) = res
    assert c1 == c2
    _same(y1, y2)
    _same(gx1, gx2)
    _same(gw1, gw2, rtol=1e-15)


@pytest.mark.parametrize("need", ["x", "w", "both"])
def test_prelu_create_graph_and_double_backward(need):
    res = []
    for lib in LIBS:
        x = lib.tensor(_PRELU_X, dtype=lib.float64, requires_grad=need != "w")
        w = lib.tensor([0.25, -0.5, 2.0, 0.75], dtype=lib.float64, requires_grad=need != "x")
        go = lib.tensor([[1.0, 2.0, 3.0, -1.0], [4.0, 5.0, 6.0, 0.5], [-2.0, 1.0, 0.5, 2.0]],
                        dtype=lib.float64, requires_grad=True)
        ins = [t for t in (x, w) if t.requires_grad]
        gs = lib.autograd.grad(lib.nn.functional.prelu(x.reshape(3, 4), w), ins, go,
                               create_graph=True)
        vs = [lib.linspace(-1.0, 2.0, g.numel(), dtype=lib.float64).reshape(g.shape)
              for g in gs]
        second = lib.autograd.grad(sum((g * v).sum() for g, v in zip(gs, vs)), ins + [go])
        res.append(([(g.requires_grad, _chain(g.grad_fn)) for g in gs], gs, second))
    (m1, g1, s1), (m2, g2, s2) = res
    assert m1 == m2
    for a, b in zip(g1 + tuple(s1), g2 + tuple(s2)):
        _same(a, b, rtol=1e-14)


def test_prelu_gradgradcheck_and_channels_last():
    x = ember.tensor([[-1.0, 2.0, -0.5], [0.5, -3.0, 1.5]], dtype=ember.float64,
                     requires_grad=True)
    w = ember.tensor([0.25, -0.5, 2.0], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(ember.nn.functional.prelu, (x, w))
    assert ember.autograd.gradgradcheck(ember.nn.functional.prelu, (x, w))
    strides = []
    for lib in LIBS:
        x = lib.randn(2, 3, 4, 5).contiguous(memory_format=lib.channels_last).requires_grad_()
        w = lib.rand(3, requires_grad=True)
        y = lib.nn.functional.prelu(x, w)
        g1, = lib.autograd.grad(y, x, lib.ones(2, 3, 4, 5), retain_graph=True)
        g2, = lib.autograd.grad(y, x, lib.ones(2, 3, 4, 5), create_graph=True)
        strides.append((y.stride(), g1.stride(), g2.stride()))
    assert strides[0] == strides[1]


def _function_transforms(m):
    F = m.nn.functional
    x = m.tensor([[-3.0, -1.0, 0.5, 3.0], [2.0, -4.0, 0.0, -0.5]], dtype=m.float64)
    t = m.tensor([[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, -1.0, 2.0]], dtype=m.float64)
    w = m.tensor([0.25, -0.5, 2.0, 1.5], dtype=m.float64)
    return [
        m.func.jvp(F.hardswish, (x,), (t,))[1],
        m.func.jvp(F.hardsigmoid, (x,), (t,))[1],
        m.func.jvp(F.prelu, (x, w), (t, w * 0 + 1))[1],
        m.func.vmap(lambda r: F.prelu(r.unsqueeze(0), w))(x),
        m.func.vmap(m.func.grad(lambda r: F.hardswish(r).sum()))(x),
        m.func.vmap(m.func.grad(lambda r: F.hardsigmoid(r).sum()))(x),
        m.func.vmap(m.func.grad(lambda r: F.prelu(r.unsqueeze(0), w).sum()))(x),
        m.func.vmap(m.func.grad(lambda ww, r: F.prelu(r.unsqueeze(0), ww).sum()),
                    in_dims=(None, 0))(w, x),
        m.func.jacfwd(m.func.jacrev(lambda r: F.hardswish(r).sum()))(x[0]),
    ]


def test_hard_activations_and_prelu_under_function_transforms():
    for a, b in zip(_function_transforms(torch), _function_transforms(ember)):
        _same(a, b, rtol=1e-14, atol=1e-15)


# ---------------------------------------------------------------------------- bilinear

def _bilinear_cases():
    def r(m, *s, dt="float32"):
        return m.randn(*s).to(getattr(m, dt))

    def c(m, *s, rg=False, dt="complex64"):
        return m.randn(*s, dtype=getattr(m, dt)).requires_grad_(rg)

    def F(m):
        return m.nn.functional
    return {
        "dims": lambda m: F(m).bilinear(r(m, 2, 3), r(m, 1, 2, 4), r(m, 5, 3, 4)),
        "batch": lambda m: F(m).bilinear(r(m, 2, 3), r(m, 3, 4), r(m, 5, 3, 4)),
        "in1": lambda m: F(m).bilinear(r(m, 2, 2), r(m, 2, 4), r(m, 5, 3, 4)),
        "in2": lambda m: F(m).bilinear(r(m, 2, 3), r(m, 2, 5), r(m, 5, 3, 4)),
        "bias": lambda m: F(m).bilinear(r(m, 2, 3), r(m, 2, 4), r(m, 5, 3, 4), r(m, 6)),
        "w2d": lambda m: F(m).bilinear(r(m, 2, 3), r(m, 2, 4), r(m, 3, 4)),
        "w1d": lambda m: F(m).bilinear(r(m, 2, 3), r(m, 2, 4), r(m, 3)),
        "w0d": lambda m: F(m).bilinear(r(m, 2, 3), r(m, 2, 4), m.randn(())),
        "w4d": lambda m: F(m).bilinear(r(m, 2, 3), r(m, 2, 4), r(m, 5, 3, 4, 1)),
        "1d": lambda m: F(m).bilinear(r(m, 3), r(m, 4), r(m, 5, 3, 4)),
        "0d": lambda m: F(m).bilinear(m.tensor(1.), m.tensor(1.), r(m, 5, 1, 1)),
        "bias2d": lambda m: F(m).bilinear(r(m, 2, 3), r(m, 2, 4), r(m, 5, 3, 4), r(m, 2, 5)),
        "bias0d": lambda m: F(m).bilinear(r(m, 2, 3), r(m, 2, 4), r(m, 5, 3, 4), m.randn(())),
        "3d": lambda m: F(m).bilinear(r(m, 2, 6, 3), r(m, 2, 6, 4), r(m, 5, 3, 4), r(m, 5)),
        "int mix": lambda m: F(m).bilinear(m.ones(2, 3, dtype=m.int64),
                                           m.ones(2, 4, dtype=m.int32),
                                           m.ones(5, 3, 4, dtype=m.int64)),
        "half mix": lambda m: F(m).bilinear(r(m, 2, 3, dt="float16"), r(m, 2, 4, dt="bfloat16"),
                                            r(m, 5, 3, 4, dt="bool")),
        "bias dtype": lambda m: F(m).bilinear(r(m, 2, 3), r(m, 2, 4), r(m, 5, 3, 4),
                                              r(m, 5, dt="float64")),
        "complex": lambda m: F(m).bilinear(c(m, 2, 3), c(m, 2, 4), c(m, 5, 3, 4)),
        "complex x1 grad": lambda m: F(m).bilinear(c(m, 2, 3, rg=True), c(m, 2, 4),
                                                   c(m, 5, 3, 4)),
        "complex x2 grad": lambda m: F(m).bilinear(c(m, 2, 3), c(m, 2, 4, rg=True),
                                                   c(m, 5, 3, 4)),
        "complex weight grad": lambda m: F(m).bilinear(
            c(m, 2, 3, dt="complex128"), c(m, 2, 4, dt="complex128"),
            c(m, 5, 3, 4, dt="complex128", rg=True)),
        "complex bias grad": lambda m: F(m).bilinear(c(m, 2, 3), c(m, 2, 4), c(m, 5, 3, 4),
                                                     c(m, 5, rg=True)),
        "complex no_grad": lambda m: m.no_grad()(lambda: F(m).bilinear(
            c(m, 2, 3, rg=True), c(m, 2, 4), c(m, 5, 3, 4)))(),
        "complex module": lambda m: m.nn.Bilinear(3, 4, 5, dtype=m.complex64)(c(m, 2, 3),
                                                                              c(m, 2, 4)),
    }


@pytest.mark.parametrize("case", list(_bilinear_cases()))
def test_bilinear_checks_as_torch(case):
    fn = _bilinear_cases()[case]
    a, b = (_outcome(fn, lib) for lib in LIBS)
    if a[0] == "ok":
        assert b[0] == "ok", b
        assert tuple(a[1].shape) == tuple(b[1].shape)
        assert str(a[1].dtype).split(".")[1] == str(b[1].dtype).split(".")[1]
        assert a[1].requires_grad == b[1].requires_grad
    else:
        assert a == b


def test_bilinear_complex_values():
    rng = np.random.default_rng(0)
    arrs = [rng.standard_normal(s) + 1j * rng.standard_normal(s)
            for s in ((2, 3), (2, 4), (5, 3, 4), (5,))]
    outs = [lib.nn.functional.bilinear(*[lib.tensor(a) for a in arrs]) for lib in LIBS]
    np.testing.assert_allclose(np.asarray(outs[1].tolist()), np.asarray(outs[0].tolist()),
                               rtol=1e-12)


# ------------------------------------------------------------------- reshape's graph

def _linear_graphs(lib):
    lib.manual_seed(0)
    lin = lib.nn.Linear(4, 3)
    xs = {"contiguous": lib.randn(2, 5, 4, requires_grad=True),
          "transposed": lib.randn(2, 4, 5, requires_grad=True).transpose(1, 2),
          "permuted": lib.randn(5, 2, 4, requires_grad=True).permute(1, 0, 2),
          "sliced": lib.randn(2, 5, 8, requires_grad=True)[..., ::2],
          "4d": lib.randn(2, 3, 5, 4, requires_grad=True).transpose(1, 2)}
    out = {k: _chain(lin(x).grad_fn) for k, x in xs.items()}
    out["no bias"] = _chain(lib.nn.functional.linear(xs["transposed"], lin.weight).grad_fn)
    t = lib.randn(3, 4, requires_grad=True)
    out["reshape copy"] = _chain(t.t().reshape(-1).grad_fn)
    out["flatten copy"] = _chain(t.t().flatten().grad_fn)
    out["reshape alias"] = _chain(t[:, ::2].reshape(-1, 3).grad_fn)
    out["reshape view"] = _chain(t.reshape(2, 6).grad_fn)
    return out


def test_linear_and_reshape_graph_names_as_torch():
    a, b = _linear_graphs(torch), _linear_graphs(ember)
    assert a == b
    assert "CloneBackward0" in b["transposed"] and "ReshapeAliasBackward0" in b["sliced"]


def test_reshape_copy_gradients_and_no_graph():
    x = ember.randn(3, 4, requires_grad=True)
    y = x.t().reshape(-1)
    (y * ember.arange(12.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(12.0).reshape(4, 3).T)
    with ember.no_grad():
        z = x.t().reshape(-1)
    assert z.grad_fn is None
    np.testing.assert_array_equal(z.numpy(), x.detach().numpy().T.reshape(-1))
    # the copy is the result's own memory: writing into it leaves x alone
    w = x.detach().t().reshape(-1)
    w[0] = 100.0
    assert x[0, 0].item() != 100.0


# ------------------------------------------------------- disable_saved_tensors_hooks

def _hooks_scenarios(lib):
    G = lib.autograd.graph
    pack, unpack = (lambda t: t), (lambda t: t)
    out = {}

    def enter_hooks():
        with G.saved_tensors_hooks(pack, unpack):
            return "entered"

    def attempt(key, fn):
        try:
            out[key] = fn()
        except RuntimeError as e:
            out[key] = f"RuntimeError: {e}"

    with G.disable_saved_tensors_hooks("disabled here"):
        attempt("same thread", enter_hooks)
        th = threading.Thread(target=attempt, args=("other thread", enter_hooks))
        th.start()
        th.join()
        with G.disable_saved_tensors_hooks("inner"):
            attempt("nested", enter_hooks)
        attempt("after nested", enter_hooks)
    attempt("after", enter_hooks)

    started, release = threading.Event(), threading.Event()

    def disabling_thread():
        with G.disable_saved_tensors_hooks("in the other thread"):
            started.set()
            release.wait(30)
    th = threading.Thread(target=disabling_thread)
    th.start()
    started.wait(30)
    attempt("while another thread disables", enter_hooks)
    release.set()
    th.join()

    def disable_inside_hooks():
        with G.saved_tensors_hooks(pack, unpack):
            with G.disable_saved_tensors_hooks("hooks are on"):
                return "disabled"
    attempt("disable inside hooks", disable_inside_hooks)
    attempt("after disable inside hooks", enter_hooks)

    @G.disable_saved_tensors_hooks("by decorator")
    def decorated():
        return enter_hooks()
    attempt("decorator", decorated)
    results = []
    threads = [threading.Thread(target=lambda: results.append(_safe(decorated)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["decorator in threads"] = sorted(results)
    attempt("end", enter_hooks)
    return out


def _safe(fn):
    try:
        return fn()
    except RuntimeError as e:
        return f"RuntimeError: {e}"


def test_disable_saved_tensors_hooks_is_per_thread():
    a, b = _hooks_scenarios(torch), _hooks_scenarios(ember)
    assert a == b
    assert b["other thread"] == "entered" and b["same thread"] == "RuntimeError: disabled here"


# ------------------------------------------------------------------ vmap and autocast

def test_vmap_vectorizes_while_another_thread_autocasts():
    from ember.func import _batching
    x = ember.randn(4, 3)
    w = ember.randn(3, 2)

    def f(row):
        return (row @ w).relu().sum()

    def vmapped():
        _batching.STATS.update(vectorized_ops=0, looped_ops=0, aborts=0, last_abort=None)
        return ember.func.vmap(f)(x), dict(_batching.STATS)

    expected = ember.stack([f(r) for r in x])
    started, release = threading.Event(), threading.Event()

    def autocasting():
        with ember.autocast("cpu", dtype=ember.bfloat16):
            started.set()
            release.wait(30)
    th = threading.Thread(target=autocasting)
    th.start()
    try:
        started.wait(30)
        out, stats = vmapped()
    finally:
        release.set()
        th.join()
    assert stats["aborts"] == 0 and stats["vectorized_ops"] > 0, stats
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)
    # this thread's own autocast still sends vmap to its loop, with autocast's dtypes
    with ember.autocast("cpu", dtype=ember.bfloat16):
        out, stats = vmapped()
        ref = ember.stack([f(r) for r in x])
    assert stats["aborts"] >= 1
    assert out.dtype == ref.dtype
    np.testing.assert_allclose(out.float().numpy(), ref.float().numpy(), rtol=1e-2)
