"""__torch_dispatch__ (ember/utils/_python_dispatch.py), ember.ops.aten (ember/_ops/aten.py)
and FlopCounterMode (ember/utils/flop_counter.py), compared with torch on the same programs:
the overloads a logging mode sees, wrapper-subclass outputs and gradients, FLOP counts per
module, forward and backward."""
import importlib

import numpy as np
import pytest

import ember
from ember._ops import _base
from ember.autograd import grad_mode

torch = pytest.importorskip("torch")


def _mod(lib, name):
    return importlib.import_module(f"{lib.__name__}.{name}")


def _logging_mode(lib):
    TorchDispatchMode = _mod(lib, "utils._python_dispatch").TorchDispatchMode

    class Log(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.seen = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.seen.append(str(func))
            return func(*args, **(kwargs or {}))
    return Log


def _inputs(lib):
    x = lib.tensor(np.linspace(-1.5, 2.0, 12).reshape(3, 4), dtype=lib.float32,
                   requires_grad=True)
    w = lib.tensor(np.linspace(-1.0, 1.0, 20).reshape(4, 5), dtype=lib.float32,
                   requires_grad=True)
    b3 = lib.tensor(np.linspace(0.0, 1.0, 24).reshape(2, 3, 4), dtype=lib.float32)
    return x, w, b3


# programs where ember runs the ops PyTorch's dispatcher shows (ember's backward formulas
# differ from PyTorch's for others: mean's divides before expanding, sum over a dim views
# where PyTorch unsqueezes)
PROGRAMS = {
    "forward_chain": lambda lib, x, w, b3: (x.mm(w).relu() * 2 + 1).sum(),
    "forward_ops": lambda lib, x, w, b3: [
        x.sum(0), x.mean(), x.view(12), x.exp(), x.t(), x.pow(2), x > 0, x.sigmoid(),
        x.tanh(), lib.cat([x, x]), lib.bmm(b3, b3.transpose(1, 2)), x.abs(), x.neg(),
        x / 2, x - 1, lib.nn.functional.softmax(x, -1), lib.nn.functional.log_softmax(x, 0)],
    "mul_backward": lambda lib, x, w, b3: (x * x).sum().backward(),
    "exp_backward": lambda lib, x, w, b3: (x.exp() * 3).sum().backward(),
    "detached_chain": lambda lib, x, w, b3: (x.detach().mm(w.detach()) + x.detach()[:, :1]),
    "mm_relu_backward": lambda lib, x, w, b3: (x.mm(w).relu() * 2 + 1).sum().backward(),
    "activations_backward": lambda lib, x, w, b3: (x.tanh() + x.sigmoid() * x.relu()).sum()
    .backward(),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_logging_mode_sees_torchs_overloads(name):
    seen = {}
    for lib in (torch, ember):
        x, w, b3 = _inputs(lib)
        with _logging_mode(lib)() as mode:
            PROGRAMS[name](lib, x, w, b3)
        seen[lib.__name__] = mode.seen
    assert seen["ember"] == seen["torch"]


def test_mode_results_and_gradients_are_unchanged():
    grads = {}
    for lib in (torch, ember):
        x, w, _ = _inputs(lib)
        with _logging_mode(lib)():
            out = (x.mm(w).relu() * 2 + 1).sum()
            out.backward()
        grads[lib.__name__] = (out.item(), x.grad.numpy(), w.grad.numpy())
    assert grads["ember"][0] == pytest.approx(grads["torch"][0], rel=1e-6)
    np.testing.assert_allclose(grads["ember"][1], grads["torch"][1], rtol=1e-6)
    np.testing.assert_allclose(grads["ember"][2], grads["torch"][2], rtol=1e-6)


def test_nested_modes_and_not_implemented():
    """The innermost mode runs first; the op its handler runs is seen by the outer one.
    A mode answering NotImplemented for a plain-tensor op raises TypeError."""
    results = {}
    for lib in (torch, ember):
        Log = _logging_mode(lib)
        TorchDispatchMode = _mod(lib, "utils._python_dispatch").TorchDispatchMode

        class Pass(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                return NotImplemented

        class Double(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                return out * 2 if str(func) == "aten.exp.default" else out

        x = lib.tensor([0.0, 1.0])
        with Log() as outer, Double():
            y = x.exp()
        with pytest.raises(TypeError, match="Multiple dispatch failed"):
            with Pass():
                x.neg()
        results[lib.__name__] = (outer.seen, y.tolist())
    assert results["ember"][0] == results["torch"][0]
    np.testing.assert_allclose(results["ember"][1], results["torch"][1], rtol=1e-6)


def test_dispatch_costs_nothing_once_left():
    Log = _logging_mode(ember)
    with Log():
        assert _base._DISPATCH[0] is not None and grad_mode.DISPATCH_ON[0]
    assert _base._DISPATCH[0] is None and not grad_mode.DISPATCH_ON[0]


# --------------------------------------------------------------------------------------
# ember.ops.aten


OVERLOADS = [("add", "Tensor"), ("mm", "default"), ("sum", "dim_IntList"), ("relu", "default"),
             ("convolution_backward", "default"), ("_softmax", "default")]


@pytest.mark.parametrize("packet,overload", OVERLOADS)
def test_overload_objects_print_as_torchs(packet, overload):
    e = getattr(getattr(ember.ops.aten, packet), overload)
    t = getattr(getattr(torch.ops.aten, packet), overload)
    assert (str(e), repr(e), e.__name__, e.name(), str(e.overloadpacket),
            repr(e.overloadpacket)) == (str(t), repr(t), t.__name__, t.name(),
                                         str(t.overloadpacket), repr(t.overloadpacket))
    assert e is getattr(getattr(ember.ops.aten, packet), overload)   # one object per name
    assert e.overloadpacket is getattr(ember.ops.aten, packet)


def test_calling_overloads_runs_the_op():
    def program(lib):
        aten = lib.ops.aten
        a = lib.tensor(np.arange(6.0).reshape(2, 3))
        b = lib.tensor(np.arange(12.0).reshape(3, 4) - 5)
        x = lib.tensor(np.linspace(-1, 1, 2 * 3 * 5 * 5).reshape(2, 3, 5, 5))
        k = lib.tensor(np.linspace(-1, 1, 4 * 3 * 3 * 3).reshape(4, 3, 3, 3))
        return [aten.mm.default(a, b), aten.add.Tensor(a, a, alpha=2), aten.relu.default(a - 2),
                aten.sum.dim_IntList(b, [0]), aten.sum.default(b), aten.t.default(a),
                aten.convolution.default(x, k, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1),
                aten.mm(a, b)]
    for e, t in zip(program(ember), program(torch)):
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12)


def test_calling_an_overload_ember_cannot_run_raises():
    with pytest.raises(NotImplementedError, match="no_such_op"):
        ember.ops.aten.no_such_op.default(ember.ones(2))


# --------------------------------------------------------------------------------------
# wrapper subclasses


def _wrapper_class(lib, log):
    tree_map = _mod(lib, "utils._pytree").tree_map

    class Wrapper(lib.Tensor):
        @staticmethod
        def __new__(cls, elem, requires_grad=False):
            r = lib.Tensor._make_wrapper_subclass(cls, elem.size(), strides=elem.stride(),
                                                  dtype=elem.dtype, device=elem.device,
                                                  requires_grad=requires_grad)
            r.elem = elem
            return r

        __torch_function__ = lib._C._disabled_torch_function_impl

        @classmethod
        def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
            def unwrap(e):
                return e.elem if isinstance(e, cls) else e

            def wrap(e):
                return cls(e) if isinstance(e, lib.Tensor) else e
            out = func(*tree_map(unwrap, args), **tree_map(unwrap, kwargs or {}))
            log.append(str(func))
            return tree_map(wrap, out)
    return Wrapper


def _wrapper_program(lib):
    log = []
    W = _wrapper_class(lib, log)
    a = lib.tensor(np.linspace(-2, 2, 12).reshape(3, 4))
    b = lib.tensor(np.linspace(-1, 1.5, 20).reshape(4, 5))
    c = lib.tensor(np.linspace(0, 1, 5))
    x, w = W(a.clone(), requires_grad=True), W(b.clone(), requires_grad=True)
    meta = (type(x).__name__, str(x.device), tuple(x.shape), str(x.dtype).split(".")[-1],
            x.requires_grad)
    y = lib.nn.functional.linear(x, w.t(), c)
    out = (y.tanh() * y.sigmoid()).view(15)[2:9].sum() + x[0].exp().mean() + \
        (x @ w).pow(2).sum(0).mean() + (x.relu() * 3).sum()
    out.backward()
    # (copies: PyTorch adds the next gradient into the wrapper's in place, ember makes a
    # new wrapper gradient)
    first = (type(out).__name__, out.elem.item(), type(x.grad).__name__,
             x.grad.elem.numpy().copy(), type(w.grad).__name__, w.grad.elem.numpy().copy())
    (x * 2).sum().backward()     # accumulates into the wrapper gradient
    lin = lib.nn.Linear(4, 2).double()
    with lib.no_grad():
        lin.weight.copy_(lib.tensor(np.linspace(-1, 1, 8).reshape(2, 4)))
        lin.bias.fill_(0.25)
    lin(x).softmax(-1)[:, 0].sum().backward()
    return meta, first, x.grad.elem.numpy(), type(lin.weight.grad).__name__, \
        lin.weight.grad.elem.numpy(), lin.bias.grad.elem.numpy()


def test_wrapper_subclass_outputs_and_gradients_match_torch():
    e, t = _wrapper_program(ember), _wrapper_program(torch)
    assert e[0] == t[0]
    assert e[1][0] == t[1][0] and e[1][2] == t[1][2] and e[1][4] == t[1][4]
    assert e[1][1] == pytest.approx(t[1][1], rel=1e-12)
    np.testing.assert_allclose(e[1][3], t[1][3], rtol=1e-10)
    np.testing.assert_allclose(e[1][5], t[1][5], rtol=1e-10)
    np.testing.assert_allclose(e[2], t[2], rtol=1e-10)
    assert e[3] == t[3]
    np.testing.assert_allclose(e[4], t[4], rtol=1e-10)
    np.testing.assert_allclose(e[5], t[5], rtol=1e-10)


def test_wrapper_handler_sees_torchs_forward_ops():
    logs = {}
    for lib in (torch, ember):
        log = []
        W = _wrapper_class(lib, log)
        x = W(lib.tensor(np.linspace(-1, 1, 6).reshape(2, 3)))
        y = (x.mm(x.t()).relu() * 3 + 1).sum(0)
        logs[lib.__name__] = (log, type(y).__name__, y.elem.tolist())
    assert logs["ember"] == logs["torch"]


def test_wrapper_all_handlers_not_implemented_raises_type_error():
    for lib in (torch, ember):
        class Refuses(lib.Tensor):
            @staticmethod
            def __new__(cls, elem):
                return lib.Tensor._make_wrapper_subclass(cls, elem.size(), dtype=elem.dtype)

            __torch_function__ = lib._C._disabled_torch_function_impl

            @classmethod
            def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
                return NotImplemented
        r = Refuses(lib.ones(2))
        with pytest.raises(TypeError, match="Multiple dispatch failed"):
            r.exp()


def test_hook_goes_off_when_the_last_wrapper_dies():
    import gc
    W = _wrapper_class(ember, [])
    x = W(ember.ones(2))
    assert _base._DISPATCH[0] is not None
    del x
    gc.collect()
    assert _base._DISPATCH[0] is None and not grad_mode.DISPATCH_ON[0]


# --------------------------------------------------------------------------------------
# FlopCounterMode


def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(8, 16), lib.nn.ReLU(), lib.nn.Linear(16, 4))


def _cnn(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3, stride=2, padding=1),
                         nn.Flatten(), nn.Linear(2 * 3 * 3, 5))


def _counts(lib, make_model, shape):
    FlopCounterMode = _mod(lib, "utils.flop_counter").FlopCounterMode
    lib.manual_seed(0)
    model = make_model(lib)
    x = lib.tensor(np.linspace(-1, 1, int(np.prod(shape))).reshape(shape), dtype=lib.float32)
    with FlopCounterMode(display=False) as counter:
        model(x).sum().backward()
    counts = {mod: {str(op): n for op, n in ops.items()}
              for mod, ops in counter.get_flop_counts().items()}
    return counter.get_total_flops(), counts


@pytest.mark.parametrize("model,shape", [(_mlp, (2, 8)), (_mlp, (2, 3, 8)),
                                         (_cnn, (2, 3, 8, 8))],
                         ids=["mlp", "mlp_3d", "cnn"])
def test_flop_counts_per_module_match_torch(model, shape):
    assert _counts(ember, model, shape) == _counts(torch, model, shape)


def _convs(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(4, 6, 3, groups=2), nn.ConvTranspose2d(6, 3, 3, stride=2))


def _conv1d(lib):
    return lib.nn.Sequential(lib.nn.Conv1d(3, 4, 3, padding=1, dilation=2))


def _linear_no_bias(lib):
    return lib.nn.Sequential(lib.nn.Linear(5, 3, bias=False))


@pytest.mark.parametrize("model,shape", [(_convs, (2, 4, 7, 7)), (_conv1d, (2, 3, 10)),
                                         (_linear_no_bias, (4, 2, 5))],
                         ids=["grouped_and_transposed", "conv1d", "linear_no_bias_3d"])
def test_flop_counts_of_more_layers_match_torch(model, shape):
    assert _counts(ember, model, shape) == _counts(torch, model, shape)


def test_flop_counts_of_products_match_torch():
    """mm/bmm/baddbmm/addmm and matmul (a batched operand times a matrix is folded into mm,
    also in its backward), forward and backward."""
    def program(lib):
        FlopCounterMode = _mod(lib, "utils.flop_counter").FlopCounterMode
        a = lib.tensor(np.linspace(-1, 1, 24).reshape(2, 3, 4), requires_grad=True)
        b = lib.tensor(np.linspace(-1, 1, 20).reshape(4, 5), requires_grad=True)
        c = lib.tensor(np.linspace(-1, 1, 48).reshape(2, 4, 6), requires_grad=True)
        with FlopCounterMode(display=False) as counter:
            out = (a @ b).sum() + lib.bmm(a, c).sum() + lib.matmul(a[0], b).sum() + \
                lib.baddbmm(lib.zeros(2, 3, 6, dtype=a.dtype), a, c).sum() + \
                lib.addmm(lib.zeros(3, 5, dtype=a.dtype), a[0], b).sum() + (a @ c).sum()
            out.backward()
        return {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}
    assert program(ember) == program(torch)


def _transformer(lib):
    return lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)


def test_flop_counts_of_a_transformer_layer_match_torch():
    """Totals per module equal torch's (attention is not counted on the CPU, as in
    PyTorch). How the attention's input projection splits between addmm and mm differs:
    PyTorch's MultiheadAttention projects a transposed (non-contiguous) input, which its
    linear runs as mm plus an add; ember's projects the batch-first input (addmm)."""
    e_total, e = _counts(ember, _transformer, (2, 5, 8))
    t_total, t = _counts(torch, _transformer, (2, 5, 8))
    assert e_total == t_total
    assert {m: sum(ops.values()) for m, ops in e.items()} == \
        {m: sum(ops.values()) for m, ops in t.items()}
    for name in ("TransformerEncoderLayer.linear1", "TransformerEncoderLayer.linear2"):
        assert e[name] == t[name]


def test_flop_formulas_match_torchs():
    e, t = _mod(ember, "utils.flop_counter"), _mod(torch, "utils.flop_counter")
    cases = [((2, 3, 9, 9), (4, 3, 3, 3), (2, 4, 7, 7), False),
             ((2, 4, 5, 5), (4, 2, 3, 3), (2, 2, 11, 11), True)]
    for x, w, out, transposed in cases:
        assert e.conv_flop_count(x, w, out, transposed) == \
            t.conv_flop_count(list(x), list(w), list(out), transposed)
    q, k, v = (2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6)
    assert e.sdpa_flop_count(q, k, v) == t.sdpa_flop_count(q, k, v)
    assert e.sdpa_backward_flop_count((2, 3, 5, 6), q, k, v) == \
        t.sdpa_backward_flop_count((2, 3, 5, 6), q, k, v)
    args = ((2, 4, 7, 7), (2, 3, 9, 9), (4, 3, 3, 3), None, [1, 1], [0, 0], [1, 1], False,
            [0, 0], 1, [True, True, False])
    assert e.conv_backward_flop(*args, out_shape=[(2, 3, 9, 9), (4, 3, 3, 3), None]) == \
        t.conv_backward_flop.__wrapped__(*args, out_shape=[(2, 3, 9, 9), (4, 3, 3, 3), None])


def test_flop_counter_custom_mapping_and_table():
    FlopCounterMode = _mod(ember, "utils.flop_counter").FlopCounterMode
    model = _mlp(ember)

    def relu_flops(x_shape, out_shape=None, **kwargs):
        return int(np.prod(x_shape))
    with FlopCounterMode(display=False, custom_mapping={ember.ops.aten.relu: relu_flops}) as c:
        model(ember.ones(2, 8))
    assert c.get_flop_counts()["Sequential.1"] == {ember.ops.aten.relu: 2 * 16}
    table = c.get_table(1).splitlines()
    assert table[0].split() == ["Module", "FLOP", "%", "Total"]
    assert table[2].split()[0] == "Sequential" and table[2].split()[-1] == "100.00%"
    assert [row.split()[1] for row in table[3:]] == ["aten.addmm", "aten.relu"]


def test_handler_may_change_operands_dtype():
    """A handler calling func on operands of another dtype gets that dtype's result, and
    sees no mode while it runs (its own ops are not dispatched to it)."""
    out = {}
    for lib in (torch, ember):
        pd = _mod(lib, "utils._python_dispatch")

        class Upcast(pd.TorchDispatchMode):
            def __init__(self):
                super().__init__()
                self.seen = []

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                self.seen.append((str(func), types, pd._get_current_dispatch_mode()))
                if func is lib.ops.aten.mm.default:
                    args = [a.double() for a in args]
                return func(*args, **(kwargs or {}))
        x, w = lib.ones(2, 3), lib.ones(3, 2)   # (factories do not dispatch in ember)
        with Upcast() as mode:
            inside = pd._get_current_dispatch_mode() is mode
            y = x.mm(w * 2)
        out[lib.__name__] = (inside, mode.seen, str(y.dtype).split(".")[-1], y.tolist())
    assert out["ember"] == out["torch"]


def test_module_tracker_parents_match_torch():
    def program(lib):
        ModuleTracker = _mod(lib, "utils.module_tracker").ModuleTracker
        seen = []

        class Block(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = lib.nn.Linear(3, 3)

            def forward(self, x):
                seen.append(sorted(tracker.parents))
                return self.inner(x).relu()

        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = Block()
                self.b = Block()

            def forward(self, x):
                return self.b(self.a(x))
        net = Net()
        with ModuleTracker() as tracker:
            y = net(lib.ones(2, 3))
            seen.append(sorted(tracker.parents))
            y.register_hook(lambda g: seen.append(sorted(tracker.parents)))
            y.sum().backward()
        return seen
    assert program(ember) == program(torch)


def test_make_subclass_shares_data_and_keeps_the_class():
    def program(lib):
        class Sub(lib.Tensor):
            @staticmethod
            def __new__(cls, data, requires_grad=False):
                return lib.Tensor._make_subclass(cls, data, requires_grad)
        base = lib.ones(3)
        x = Sub(base, requires_grad=True)
        facts = [type(x).__name__, x.requires_grad, x.is_leaf, type(x * 2).__name__]
        (x * 2).sum().backward()
        with lib.no_grad():
            base.add_(1)           # the subclass instance shares the memory
        return facts, x.grad.tolist(), x.tolist()
    assert program(ember) == program(torch)


def test_data_subclass_handler_with_no_dispatch():
    """A _make_subclass instance whose handler runs func inside no_dispatch(): results
    are plain tensors (the default __torch_function__ does not convert them, as in
    PyTorch), gradients flow, _DisableTorchDispatch turns the handler off."""
    def program(lib):
        no_dispatch = _mod(lib, "utils._mode_utils").no_dispatch
        log = []

        class Sub(lib.Tensor):
            @staticmethod
            def __new__(cls, data, requires_grad=False):
                return lib.Tensor._make_subclass(cls, data, requires_grad)

            @classmethod
            def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
                log.append(str(func))
                with no_dispatch():
                    return func(*args, **(kwargs or {}))
        x = Sub(lib.tensor([1.0, -2.0, 3.0]), requires_grad=True)
        y = (x * 2).relu().sum()
        y.backward()
        with lib._C._DisableTorchDispatch():
            z = x + 1
        return (type(y).__name__, y.item(), x.grad.tolist(), type(x.grad).__name__,
                type(z).__name__, z.tolist(), log)
    assert program(ember) == program(torch)


def test_wrapper_through_a_cnn_matches_torch():
    """Conv, (eval) batch norm, relu, max pool (an op passing its parameters among its
    arrays), flatten, linear and cross entropy on a wrapper input: loss, input and
    parameter gradients (wrappers too) as torch's. (Training-mode batch norm computes its
    statistics from the data outside its op node, which a wrapper does not have.)"""
    def program(lib):
        W = _wrapper_class(lib, [])
        nn = lib.nn
        model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 4)).double().eval()
        with lib.no_grad():
            for i, p in enumerate(model.parameters()):
                p.copy_(lib.tensor(np.linspace(-1, 1, p.numel()).reshape(tuple(p.shape))
                                   * (0.5 + 0.1 * i)))
        x = W(lib.tensor(np.linspace(-2, 2, 64).reshape(2, 2, 4, 4)), requires_grad=True)
        loss = lib.nn.functional.cross_entropy(model(x), lib.tensor([1, 3]))
        loss.backward()
        return (type(loss).__name__, loss.elem.item(), x.grad.elem.numpy(),
                [(type(p.grad).__name__, p.grad.elem.numpy()) for p in model.parameters()])
    e, t = program(ember), program(torch)
    assert e[0] == t[0] and e[1] == pytest.approx(t[1], rel=1e-12)
    np.testing.assert_allclose(e[2], t[2], rtol=1e-10, atol=1e-14)
    for (en, eg), (tn, tg) in zip(e[3], t[3]):
        assert en == tn
        np.testing.assert_allclose(eg, tg, rtol=1e-10, atol=1e-14)


EINSUMS = [("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("ij,jk->ik", [(3, 4), (4, 5)]),
           ("bhqd,bhkd->bhqk", [(2, 3, 5, 4), (2, 3, 6, 4)]), ("i,i->", [(4,), (4,)]),
           ("ij,j->i", [(3, 4), (4,)]), ("ij,jk->k", [(3, 4), (4, 5)]),
           ("bij,bjk->b", [(2, 3, 4), (2, 4, 5)]), ("ij,ij->ij", [(3, 4), (3, 4)]),
           ("ij,kl->ijkl", [(2, 3), (4, 5)])]


@pytest.mark.parametrize("equation,shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_flop_counts_of_einsum_match_torch(equation, shapes):
    """PyTorch's einsum reaches bmm for a contraction of two operands (mul when nothing is
    contracted); forward and backward counted as its bmm/mul."""
    def program(lib):
        FlopCounterMode = _mod(lib, "utils.flop_counter").FlopCounterMode
        operands = [lib.ones(*s, requires_grad=True) for s in shapes]
        with FlopCounterMode(display=False) as counter:
            lib.einsum(equation, *operands).sum().backward()
        return {str(k): v for k, v in counter.get_flop_counts().get("Global", {}).items()}
    assert program(ember) == program(torch)


def _op_classes():
    from ember._ops._base import Op
    found, stack = [], [Op]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            found.append(sub)
    return found


def test_every_op_class_names_an_overload_torch_has():
    """The overload each ember op class is dispatched as (those of the classes a rule
    names by their operands: every overload a rule can give) exists in torch.ops.aten."""
    from ember._ops import aten as table
    missing = []
    names = set()
    for cls in _op_classes():
        if cls._op.__qualname__ in table._RULES:
            continue
        op = table.overload_for(cls, (), (), ())
        if op.namespace == "aten":
            names.add((op.overloadpacket.__name__, op._overloadname))
    names |= {("sum", "default"), ("sum", "dim_IntList"), ("mean", "default"), ("mean", "dim"),
              ("pow", "Scalar"), ("pow", "Tensor_Scalar"), ("pow", "Tensor_Tensor"),
              ("dot", "default"), ("mv", "default"), ("mm", "default"), ("bmm", "default"),
              ("addmm", "default"), ("convolution", "default"),
              ("convolution_backward", "default"), ("select", "int"), ("slice", "Tensor"),
              ("unsqueeze", "default"), ("index", "Tensor"), ("alias", "default"),
              ("t", "default"), ("transpose", "int"), ("einsum", "default"), ("mul", "Tensor"),
              ("div", "Tensor_mode"), ("squeeze", "dim"), ("squeeze", "dims"),
              ("_softmax", "default"), ("_log_softmax", "default"), ("detach", "default"),
              ("threshold_backward", "default"), ("sigmoid_backward", "default"),
              ("tanh_backward", "default"), ("ones_like", "default"), ("logical_not", "default"),
              ("le", "Scalar"), ("le", "Tensor")}
    for packet, overload in sorted(names):
        if not hasattr(getattr(torch.ops.aten, packet, None), overload):
            missing.append(f"aten.{packet}.{overload}")
    assert missing == []


def test_mode_does_not_change_a_training_step():
    """Gradients under a pass-through mode equal those without it (float64): transformer
    layer, LSTM, embedding, batch norm, slice assignment, gather, attention, linalg."""
    nn = ember.nn
    Log = _logging_mode(ember)

    def run(mode):
        ember.manual_seed(0)
        layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, dropout=0.0).double()
        lstm, emb = nn.LSTM(8, 4, batch_first=True).double(), nn.Embedding(10, 8).double()
        bn = nn.BatchNorm1d(5).double()
        x = ember.randn(2, 5, 8, dtype=ember.float64, requires_grad=True)
        modules = [layer, lstm, emb, bn]
        with (mode if mode is not None else _null()):
            h = layer(x + emb(ember.tensor([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]])))
            out, _ = lstm(bn(h))
            z = out * 2
            z[:, 1:3] = 0
            loss = z.pow(2).mean() + h.gather(2, ember.zeros(2, 5, 1, dtype=ember.int64)).sum()
            a = h[0, :3, :3]
            loss = loss + ember.linalg.inv(a @ a.T + ember.eye(3, dtype=ember.float64)).sum()
            loss.backward()
        grads = [p.grad.numpy().copy() for m in modules for p in m.parameters()]
        return loss.item(), grads + [x.grad.numpy().copy()]
    plain, seen = run(None), run(Log())
    assert seen[0] == pytest.approx(plain[0], rel=1e-13)
    for a, b in zip(plain[1], seen[1]):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-13)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
