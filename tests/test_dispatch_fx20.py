"""__torch_dispatch__ of out= calls, range factories and tensors made from data, against
PyTorch's logging TorchDispatchMode: ``torch.add(x, y, out=o)`` is ``aten.add.out`` (with
the out tensor in kwargs), ``torch.arange(0, 5, 2)`` ``aten.arange.start_step``,
``torch.tensor(data)`` ``aten.lift_fresh.default``; printing dispatches nothing."""
import numpy as np
import pytest

import ember
from ember.utils._python_dispatch import TorchDispatchMode as EmberMode

torch = pytest.importorskip("torch")
from torch.utils._python_dispatch import TorchDispatchMode as TorchMode  # noqa: E402


def _logger(base):
    class Log(base):
        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops.append((str(func), args, dict(kwargs or {})))
            return func(*args, **(kwargs or {}))
    return Log


_LOGS = {torch: _logger(TorchMode), ember: _logger(EmberMode)}


def _seen(lib, make_args, call):
    """The ops a logging mode sees for ``call(lib, *make_args(lib))`` (arguments made
    outside the mode), and the call's result."""
    args = make_args(lib)
    mode = _LOGS[lib]()
    with mode:
        result = call(lib, *args)
    return mode.ops, result


def _operands(lib):
    g = np.random.default_rng(0)
    x = lib.from_numpy(g.random((2, 3), dtype=np.float32) + 0.5)
    y = lib.from_numpy(g.random((2, 3), dtype=np.float32) + 0.5)
    m = lib.from_numpy(g.random((3, 3), dtype=np.float32))
    v = lib.from_numpy(g.random(3, dtype=np.float32))
    return x, y, m, v, lib.empty


def _int_empty(lib, *shape):
    return lib.empty(*shape, dtype=lib.int64)


OUT_CASES = {
    "add": lambda L, x, y, m, v, E: L.add(x, y, out=E(2, 3)),
    "add alpha": lambda L, x, y, m, v, E: L.add(x, y, alpha=2, out=E(2, 3)),
    "add scalar": lambda L, x, y, m, v, E: L.add(x, 2, out=E(2, 3)),
    "sub": lambda L, x, y, m, v, E: L.sub(x, y, out=E(2, 3)),
    "mul": lambda L, x, y, m, v, E: L.mul(x, y, out=E(2, 3)),
    "multiply": lambda L, x, y, m, v, E: L.multiply(x, y, out=E(2, 3)),
    "div": lambda L, x, y, m, v, E: L.div(x, y, out=E(2, 3)),
    "div floor": lambda L, x, y, m, v, E: L.div(x, y, rounding_mode="floor", out=E(2, 3)),
    "true_divide": lambda L, x, y, m, v, E: L.true_divide(x, y, out=E(2, 3)),
    "pow tensor scalar": lambda L, x, y, m, v, E: L.pow(x, 2, out=E(2, 3)),
    "pow tensor tensor": lambda L, x, y, m, v, E: L.pow(x, y, out=E(2, 3)),
    "pow scalar tensor": lambda L, x, y, m, v, E: L.pow(2, x, out=E(2, 3)),
    "exp": lambda L, x, y, m, v, E: L.exp(x, out=E(2, 3)),
    "sqrt": lambda L, x, y, m, v, E: L.sqrt(x, out=E(2, 3)),
    "abs": lambda L, x, y, m, v, E: L.abs(x, out=E(2, 3)),
    "sigmoid": lambda L, x, y, m, v, E: L.sigmoid(x, out=E(2, 3)),
    "clamp": lambda L, x, y, m, v, E: L.clamp(x, 0.6, 0.9, out=E(2, 3)),
    "clamp tensor": lambda L, x, y, m, v, E: L.clamp(x, y, out=E(2, 3)),
    "maximum": lambda L, x, y, m, v, E: L.maximum(x, y, out=E(2, 3)),
    "where": lambda L, x, y, m, v, E: L.where(x > y, x, y, out=E(2, 3)),
    "eq": lambda L, x, y, m, v, E: L.eq(x, y, out=L.empty(2, 3, dtype=L.bool)),
    "gt scalar": lambda L, x, y, m, v, E: L.gt(x, 0.7, out=L.empty(2, 3, dtype=L.bool)),
    "sum dim": lambda L, x, y, m, v, E: L.sum(x, 0, out=E(3)),
    "mean dim": lambda L, x, y, m, v, E: L.mean(x, 0, out=E(3)),
    "prod dim": lambda L, x, y, m, v, E: L.prod(x, 0, out=E(3)),
    "amax": lambda L, x, y, m, v, E: L.amax(x, 0, out=E(3)),
    "argmax": lambda L, x, y, m, v, E: L.argmax(x, 0, out=_int_empty(L, 3)),
    "cumsum": lambda L, x, y, m, v, E: L.cumsum(x, 0, out=E(2, 3)),
    "max dim": lambda L, x, y, m, v, E: L.max(x, 0, out=(E(3), _int_empty(L, 3))),
    "sort": lambda L, x, y, m, v, E: L.sort(x, out=(E(2, 3), _int_empty(L, 2, 3))),
    "topk": lambda L, x, y, m, v, E: L.topk(x, 2, out=(E(2, 2), _int_empty(L, 2, 2))),
    "std dim": lambda L, x, y, m, v, E: L.std(x, 0, out=E(3)),
    "logsumexp": lambda L, x, y, m, v, E: L.logsumexp(x, 0, out=E(3)),
    "mm": lambda L, x, y, m, v, E: L.mm(m, m, out=E(3, 3)),
    "matmul of matrices": lambda L, x, y, m, v, E: L.matmul(m, m, out=E(3, 3)),
    "matmul matrix vector": lambda L, x, y, m, v, E: L.matmul(m, v, out=E(3)),
    "matmul of vectors": lambda L, x, y, m, v, E: L.matmul(v, v, out=E(())),
    "bmm": lambda L, x, y, m, v, E: L.bmm(m[None], m[None], out=E(1, 3, 3)),
    "addmm": lambda L, x, y, m, v, E: L.addmm(v, m, m, out=E(3, 3)),
    "cat": lambda L, x, y, m, v, E: L.cat([x, y], out=E(4, 3)),
    "stack": lambda L, x, y, m, v, E: L.stack([x, y], out=E(2, 2, 3)),
    "index_select": lambda L, x, y, m, v, E: L.index_select(
        x, 0, L.tensor([1, 0]), out=E(2, 3)),
    "linalg.vector_norm": lambda L, x, y, m, v, E: L.linalg.vector_norm(x, out=E(())),
    "special.erf": lambda L, x, y, m, v, E: L.special.erf(x, out=E(2, 3)),
    "arange": lambda L, x, y, m, v, E: L.arange(3, out=E(3)),
    "arange start step": lambda L, x, y, m, v, E: L.arange(0, 5, 2, out=E(3)),
}


@pytest.mark.parametrize("case", list(OUT_CASES))
def test_out_calls_dispatch_as_the_out_overload(case):
    """The last op the mode sees (the empty out tensors come before) and its out kwarg:
    the tensor(s) given; the result is written there and returned."""
    call = OUT_CASES[case]
    seen = {}
    for lib in (torch, ember):
        ops, result = _seen(lib, _operands, call)
        name, args, kwargs = ops[-1]
        if "out" in kwargs:
            outs = kwargs["out"] if isinstance(kwargs["out"], tuple) else (kwargs["out"],)
        else:   # (values, indices): keywords of their own
            outs = tuple(v for k, v in kwargs.items() if isinstance(v, lib.Tensor))
        results = tuple(result) if isinstance(result, tuple) else (result,)
        assert len(results) == len(outs)
        if lib is ember:   # (torch gives max's outs back as new Tensor objects of them)
            assert all(r is o for r, o in zip(results, outs))
        # (PyTorch's schema fills in std's correction: ember passes the arguments as given)
        seen[lib] = (name, sorted(k for k in kwargs if k not in ("alpha", "rounding_mode",
                                                                 "correction")),
                     [np.asarray(r.numpy()).tolist() for r in results])
    assert seen[ember][:2] == seen[torch][:2]
    for a, b in zip(seen[ember][2], seen[torch][2]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_out_call_inside_nested_modes_is_one_operator_for_each():
    def call(lib):
        x, o = lib.ones(3), lib.empty(3)
        outer, inner = _LOGS[lib](), _LOGS[lib]()
        with outer, inner:
            lib.add(x, x, alpha=3, out=o)
        return [op[0] for op in outer.ops], [op[0] for op in inner.ops], o.tolist()
    assert call(ember) == call(torch) == (["aten.add.out"], ["aten.add.out"],
                                          [4.0, 4.0, 4.0])


def test_a_handler_answering_an_out_call_decides_the_result():
    class Zeroing(EmberMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func is ember.ops.aten.add.out:
                return kwargs["out"].zero_()
            return func(*args, **(kwargs or {}))
    o = ember.full((2,), 7.0)
    with Zeroing():
        got = ember.add(ember.ones(2), 1, out=o)
    assert got is o and o.tolist() == [0.0, 0.0]


def _fmt(lib, value):
    if isinstance(value, lib.Tensor):
        return ("T", tuple(value.shape), str(value.dtype).split(".")[-1])
    if isinstance(value, (list, tuple)):
        return [_fmt(lib, v) for v in value]
    if isinstance(value, (lib.dtype, lib.device)):
        return str(value).replace("torch.", "").replace("ember.", "")
    return value


FACTORY_CASES = {
    "arange end": lambda L: L.arange(5),
    "arange start end": lambda L: L.arange(1, 5),
    "arange start end step": lambda L: L.arange(0, 5, 2),
    "arange floats, dtype": lambda L: L.arange(0.0, 1.0, 0.25, dtype=L.float64),
    "arange keywords": lambda L: L.arange(start=1, end=4),
    "arange end keyword": lambda L: L.arange(end=4),
    "arange requires_grad": lambda L: L.arange(3.0, requires_grad=True),
    "linspace": lambda L: L.linspace(0, 1, 5),
    "logspace": lambda L: L.logspace(0, 1, 3),
    "tensor": lambda L: L.tensor([1.0, 2.0]),
    "tensor of a scalar, dtype": lambda L: L.tensor(2.5, dtype=L.float64),
    "tensor requires_grad": lambda L: L.tensor([1.0, 2.0], requires_grad=True),
    "as_tensor": lambda L: L.as_tensor([1.0, 2.0]),
    "asarray of an ndarray": lambda L: L.asarray(np.ones(2)),
    "from_numpy": lambda L: L.from_numpy(np.ones(2)),
}


@pytest.mark.parametrize("case", list(FACTORY_CASES))
def test_range_factories_and_tensors_from_data_dispatch(case):
    call = FACTORY_CASES[case]
    seen = {}
    for lib in (torch, ember):
        ops, result = _seen(lib, lambda lib: (), lambda lib: call(lib))
        seen[lib] = ([(name, _fmt(lib, args), {k: _fmt(lib, v) for k, v in kw.items()})
                      for name, args, kw in ops],
                     result.tolist(), str(result.dtype).split(".")[-1], result.requires_grad)
    assert seen[ember] == seen[torch]


def test_printing_dispatches_nothing():
    for lib in (torch, ember):
        t = lib.ones(2, 2)
        mode = _LOGS[lib]()
        with mode:
            text = repr(t) + str(t * 2)
        assert mode.ops[-1][0] == "aten.mul.Tensor" and len(mode.ops) == 1, (lib, mode.ops)
        assert "tensor" in text


def test_no_mode_no_dispatch_cost_and_plain_results():
    o = ember.empty(3)
    assert ember.add(ember.ones(3), 2, out=o) is o and o.tolist() == [3.0, 3.0, 3.0]
    assert ember.arange(0, 5, 2).tolist() == [0, 2, 4]
    t = ember.tensor([1.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf


@pytest.mark.parametrize("fname", ["max", "min", "median"])
def test_reductions_over_a_dim_write_their_out_pair(fname):
    """max/min/median over a dim ignored out= (new tensors came back, the outs untouched)."""
    seen = {}
    for lib in (torch, ember):
        x = lib.tensor([[1.0, 5.0, 2.0], [4.0, 0.0, 3.0]])
        values, indices = lib.empty(0), lib.empty(0, dtype=lib.int64)
        got = getattr(lib, fname)(x, 1, keepdim=True, out=(values, indices))
        assert got[0] is values and got[1] is indices
        seen[lib] = (values.tolist(), indices.tolist())
    assert seen[ember] == seen[torch]


@pytest.mark.parametrize("convert", ["numpy", "numpy force", "np.asarray", "tolist"])
def test_conversions_to_numpy_dispatch_detach(convert):
    calls = {"numpy": lambda t: t.numpy(), "numpy force": lambda t: t.numpy(force=True),
             "np.asarray": lambda t: np.asarray(t), "tolist": lambda t: t.tolist()}
    seen = {}
    for lib in (torch, ember):
        ops, result = _seen(lib, lambda lib: (lib.ones(2),), lambda lib, t: calls[convert](t))
        seen[lib] = ([op[0] for op in ops], np.asarray(result).tolist())
    assert seen[ember] == seen[torch]


def test_numpy_of_a_tensor_requiring_grad_raises_before_dispatching():
    for lib in (torch, ember):
        t = lib.ones(2, requires_grad=True)
        mode = _LOGS[lib]()
        with mode, pytest.raises(RuntimeError, match="requires grad"):
            t.numpy()
        assert mode.ops == []
