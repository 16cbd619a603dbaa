"""In-place ops under their own names, compared with torch on the same programs: the
overloads and arguments a TorchDispatchMode sees for ``x.add_(y)``, ``x.relu_()``,
``x.copy_(y)`` ... (ember/_ops/aten.inplace_call, utils/_python_dispatch.dispatch_inplace),
in-place ops on a wrapper subclass (they write into the tensor it wraps and return the
wrapper itself), gradients through in-place ops run inside a mode, the profiler's names
for them (``aten::add_``, profiler/_composite.py) and BatchNorm's batch counter, an
``add_(1)`` that export records and the exported module advances."""
import importlib
from collections import Counter

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _mod(lib, name):
    return importlib.import_module(f"{lib.__name__}.{name}")


def _describe(lib, value):
    """An argument as the test compares it: a tensor by its shape, lists by their items,
    dtypes and devices by name."""
    if isinstance(value, lib.Tensor):
        return ("T", tuple(value.shape))
    if isinstance(value, (list, tuple)):
        return type(value).__name__, tuple(_describe(lib, v) for v in value)
    if isinstance(value, (lib.dtype, lib.device)):
        return str(value).replace("torch.", "").replace("ember.", "")
    return value


def _log_mode(lib):
    class Log(_mod(lib, "utils._python_dispatch").TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.seen = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            self.seen.append((str(func), _describe(lib, args),
                              {k: _describe(lib, v) for k, v in kwargs.items()}))
            return func(*args, **kwargs)
    return Log()


def _operands(lib):
    a = lib.tensor(np.linspace(-1.0, 1.0, 9).reshape(3, 3), dtype=lib.float32)
    b = lib.tensor(np.linspace(0.5, 2.0, 9).reshape(3, 3), dtype=lib.float32)
    # (the third: index_put_'s indices and values)
    return a, b, ((lib.tensor([0, 2]),), lib.tensor([0.5, 1.0, 1.5]))


# in-place calls whose whole dispatch (one op) ember shows as torch does
PROGRAMS = {
    "add_scalar": lambda lib, a, b, i: a.add_(1),
    "add_alpha": lambda lib, a, b, i: a.add_(b, alpha=2),
    "iadd": lambda lib, a, b, i: a.__iadd__(b),
    "isub": lambda lib, a, b, i: a.__isub__(2.0),
    "mul_": lambda lib, a, b, i: a.mul_(b),
    "div_": lambda lib, a, b, i: a.div_(2),
    "div_mode": lambda lib, a, b, i: a.div_(b, rounding_mode="floor"),
    "sub_": lambda lib, a, b, i: a.sub_(b),
    "relu_": lambda lib, a, b, i: a.relu_(),
    "F_relu_inplace": lambda lib, a, b, i: lib.nn.functional.relu(a, inplace=True),
    "sigmoid_": lambda lib, a, b, i: a.sigmoid_(),
    "exp_": lambda lib, a, b, i: a.exp_(),
    "pow_": lambda lib, a, b, i: a.pow_(2),
    "clamp_": lambda lib, a, b, i: a.clamp_(0, 1),
    "clamp_min_": lambda lib, a, b, i: a.clamp_min_(0),
    "clip_": lambda lib, a, b, i: a.clip_(max=0.5),
    "zero_": lambda lib, a, b, i: a.zero_(),
    "fill_": lambda lib, a, b, i: a.fill_(2.0),
    "copy_": lambda lib, a, b, i: a.copy_(b),
    "index_put_": lambda lib, a, b, i: a.index_put_(*i),
    "addcmul_": lambda lib, a, b, i: a.addcmul_(a, b, value=0.5),
    "addcdiv_": lambda lib, a, b, i: a.addcdiv_(a, b),
    "lerp_": lambda lib, a, b, i: a.lerp_(b, 0.5),
    "addmm_": lambda lib, a, b, i: a.addmm_(b, b, beta=0.5),
    "uniform_": lambda lib, a, b, i: a.uniform_(),
    "normal_": lambda lib, a, b, i: a.normal_(0.0, 2.0),
    "t_": lambda lib, a, b, i: a.t_(),
    "squeeze_": lambda lib, a, b, i: a.unsqueeze_(0).squeeze_(0),
    "transpose_": lambda lib, a, b, i: a.transpose_(0, 1),
    "neg_": lambda lib, a, b, i: a.neg_(),
    "eq_": lambda lib, a, b, i: a.eq_(b),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_mode_sees_the_inplace_overload_as_torch(name):
    def run(lib):
        a, b, i = _operands(lib)
        mode = _log_mode(lib)
        with mode:
            out = PROGRAMS[name](lib, a, b, i)
        assert out is a   # an in-place op returns self
        return mode.seen, a._version
    assert run(ember) == run(torch)


def test_inplace_results_under_a_mode_match_torch():
    for name in sorted(PROGRAMS):
        if name in ("uniform_", "normal_"):
            continue
        values = []
        for lib in (torch, ember):
            a, b, i = _operands(lib)
            with _log_mode(lib):
                PROGRAMS[name](lib, a, b, i)
            values.append(a.numpy())
        np.testing.assert_allclose(values[1], values[0], rtol=1e-6, err_msg=name)


def _wrapper_class(lib):
    pytree = _mod(lib, "utils._pytree")

    class Wrapper(lib.Tensor):
        seen = []

        @staticmethod
        def __new__(cls, elem):
            r = lib.Tensor._make_wrapper_subclass(cls, elem.size(), dtype=elem.dtype,
                                                  requires_grad=elem.requires_grad)
            r.elem = elem
            return r

        @classmethod
        def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
            cls.seen.append(str(func))

            def unwrap(e):
                return e.elem if isinstance(e, cls) else e

            def wrap(e):
                return cls(e) if isinstance(e, lib.Tensor) and not isinstance(e, cls) else e
            out = func(*pytree.tree_map(unwrap, args), **pytree.tree_map(unwrap, kwargs or {}))
            return pytree.tree_map(wrap, out)
    return Wrapper


def test_inplace_ops_write_into_a_wrapper_subclass():
    def run(lib):
        Wrapper = _wrapper_class(lib)
        x = Wrapper(lib.ones(2, 2))
        same = x.add_(1) is x
        x.mul_(3)
        x.relu_()
        x += Wrapper(lib.full((2, 2), 0.5))
        x.clamp_(max=5.0)
        return same, x.elem.tolist(), x._version, Wrapper.seen
    assert run(ember) == run(torch)


def test_gradients_through_inplace_ops_inside_a_mode():
    def run(lib):
        a = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        mode = _log_mode(lib)
        with mode:
            b = a * 1
            b.mul_(a)
            b.add_(a, alpha=2)
            b[0].mul_(2)
            name = b.grad_fn.name()
            b.sum().backward()
        forward = [s[0] for s in mode.seen[:mode.seen.index(next(
            s for s in mode.seen if s[0] == "aten.sum.default"))]]
        # (torch also shows the clone it saves of b for mul_'s gradient)
        return name, b._version, a.grad.tolist(), [f for f in forward if f != "aten.clone.default"]
    assert run(ember) == run(torch)


def test_inplace_error_inside_a_mode_is_torchs():
    def run(lib):
        a = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        with _log_mode(lib):
            b = (a * 1).relu_()
            b.add_(1)   # relu_ saved its output; backward must refuse
            with pytest.raises(RuntimeError) as info:
                b.sum().backward()
        return str(info.value)
    assert run(ember) == run(torch)


def _profile_counts(lib, program):
    with lib.profiler.profile() as prof:
        program(lib)
    return Counter({e.key: e.count for e in prof.key_averages()})


def _inplace_program(lib):
    a, b, i = _operands(lib)
    a.add_(1)
    a.mul_(b)
    a.sub_(b, alpha=2)
    a.div_(2)
    a.relu_()
    lib.nn.functional.relu(a, inplace=True)
    a.clamp_(0, 1)
    a.addmm_(a, b)
    a.index_put_(*i)
    a.zero_()
    a.fill_(3.0)
    a.copy_(b)


# ops around the in-place ones that torch lists and ember does not (allocations, views of
# indexing, the relu_ kernel's clamp_min_)
_TORCH_ONLY = {"aten::empty", "aten::empty_strided", "aten::to", "aten::_to_copy",
               "aten::as_strided", "aten::select", "aten::lift_fresh", "aten::resolve_conj",
               "aten::clamp_min_", "aten::_index_put_impl_", "aten::view", "aten::reshape",
               "aten::copy_", "aten::index", "detach_", "aten::detach_"}


def test_profiler_names_inplace_ops_as_torch():
    mine = _profile_counts(ember, _inplace_program)
    theirs = _profile_counts(torch, _inplace_program)
    inplace = {k for k in theirs if k.endswith("_") and k not in _TORCH_ONLY}
    assert inplace >= {"aten::add_", "aten::mul_", "aten::sub_", "aten::div_", "aten::relu_",
                       "aten::clamp_", "aten::addmm_", "aten::index_put_", "aten::zero_",
                       "aten::fill_"}
    assert {k: mine[k] for k in inplace} == {k: theirs[k] for k in inplace}
    # the out-of-place ops ember computes them with are not listed
    for k in ("aten::add", "aten::mul", "aten::sub", "aten::div", "aten::relu", "aten::clamp",
              "aten::addmm", "aten::index_put", "aten::fill"):
        assert mine[k] == theirs[k], k


def test_profiler_names_batch_norm_counter_as_torch():
    def program(lib):
        bn = lib.nn.BatchNorm1d(3)
        x = lib.randn(4, 3)
        with lib.profiler.profile() as prof:
            bn(x)
        return prof
    def counts(prof):
        return {a.key: a.count for a in prof.key_averages()
                if a.key in ("aten::add_", "aten::add", "aten::batch_norm",
                             "aten::native_batch_norm")}
    assert counts(program(ember)) == counts(program(torch))


def test_batch_norm_counts_batches_with_add_():
    def run(lib, momentum):
        bn = lib.nn.BatchNorm1d(3, momentum=momentum)
        counter = bn.num_batches_tracked
        before = counter._version
        mode = _log_mode(lib)
        x = lib.tensor(np.linspace(-1.0, 1.0, 12).reshape(4, 3), dtype=lib.float32)
        with mode:
            bn(x)
        bn(x)
        return (int(counter), counter._version - before, mode.seen[0],
                np.round(bn.running_mean.numpy(), 6).tolist())
    for momentum in (0.1, None):
        assert run(ember, momentum) == run(torch, momentum)


def test_exported_training_batch_norm_advances_its_counter():
    def run(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.BatchNorm1d(3))
        x = lib.tensor(np.linspace(-1.0, 1.0, 12).reshape(4, 3), dtype=lib.float32)
        ep = lib.export.export(model, (x,))
        targets = [str(n.target) for n in ep.graph.nodes if n.op == "call_function"]
        after_export = int(model[1].num_batches_tracked)   # export leaves it as it was
        module = ep.module()
        module(x)
        module(x)
        return targets, after_export, int(module.get_buffer("1.num_batches_tracked"))
    mine, theirs = run(ember), run(torch)
    assert "aten.add_.Tensor" in mine[0]
    assert mine[1:] == theirs[1:] == (0, 2)
    assert [t for t in mine[0] if t.startswith("aten.add")] == \
        [t for t in theirs[0] if t.startswith("aten.add")]


def test_wrapper_requiring_grad_inplace_is_not_built():
    Wrapper = _wrapper_class(ember)
    x = Wrapper(ember.ones(2, requires_grad=True))
    with pytest.raises(NotImplementedError, match="in-place op on a tensor subclass"):
        (x * 1).add_(1)


FACTORIES = {
    "zeros": lambda lib, x: lib.zeros(4),
    "zeros_dtype": lambda lib, x: lib.zeros(2, 3, dtype=lib.float64),
    "zeros_tuple": lambda lib, x: lib.zeros((2, 3)),
    "ones_grad": lambda lib, x: lib.ones(2, requires_grad=True),
    "empty": lambda lib, x: lib.empty(3),
    "full": lambda lib, x: lib.full((2,), 3.0),
    "full_int": lambda lib, x: lib.full((2,), 3),
    "randn": lambda lib, x: lib.randn(2),
    "rand": lambda lib, x: lib.rand(2, 2),
    "zeros_like": lambda lib, x: lib.zeros_like(x),
    "ones_like_dtype": lambda lib, x: lib.ones_like(x, dtype=lib.int64),
    "full_like": lambda lib, x: lib.full_like(x, 2.0),
    "randn_like": lambda lib, x: lib.randn_like(x),
    "new_zeros": lambda lib, x: x.new_zeros(2),
    "new_ones": lambda lib, x: x.new_ones((2,)),
    "new_full": lambda lib, x: x.new_full((2,), 1.0),
    "item": lambda lib, x: x[1].item(),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_mode_sees_factories_and_item_as_torch(name):
    def run(lib):
        x = lib.tensor([1.5, 2.5, 3.5])
        mode = _log_mode(lib)
        with mode:
            out = FACTORIES[name](lib, x)
        seen = [s for s in mode.seen if s[0] != "aten.select.int"]   # (x[1]: ember's key)
        if isinstance(out, lib.Tensor):
            out = (tuple(out.shape), str(out.dtype).split(".")[1], out.requires_grad)
        return seen, out
    assert run(ember) == run(torch)


def test_wrapper_item_and_factories_like_it():
    def run(lib):
        Wrapper = _wrapper_class(lib)
        x = Wrapper(lib.tensor([2.0, 4.0]))
        z = lib.zeros_like(x)
        n = x.new_ones(3)
        return (x.sum().item(), type(z).__name__, z.elem.tolist(), type(n).__name__,
                Wrapper.seen)
    assert run(ember) == run(torch)


def test_exported_lstm_sees_its_initial_state_factory():
    """The LSTM's zero initial state dispatches as aten.zeros, and export records it with
    the dynamic batch size (ember/nn/modules/rnn.py calls zeros by its module's name)."""
    def run(lib):
        lib.manual_seed(0)
        lstm = lib.nn.LSTM(3, 4, batch_first=True)
        mode = _log_mode(lib)
        with mode, lib.no_grad():
            lstm(lib.ones(2, 5, 3))
        return [s for s in mode.seen if s[0] == "aten.zeros.default"]
    assert run(ember) == run(torch)


def test_mode_stack_is_per_thread():
    """A mode entered in one thread sees neither another thread's ops nor is it the
    other thread's current mode, as PyTorch's per-thread stack."""
    import threading

    def run(lib):
        pd = _mod(lib, "utils._python_dispatch")
        mode = _log_mode(lib)
        x = lib.ones(2)
        entered, done, current = threading.Event(), threading.Event(), []

        def other():
            entered.wait()
            x + 1
            current.append(pd._get_current_dispatch_mode())
            done.set()
        thread = threading.Thread(target=other)
        thread.start()
        with mode:
            entered.set()
            done.wait()
            x * 2
            inside = pd._get_current_dispatch_mode() is mode
        thread.join()
        return [s[0] for s in mode.seen], current, inside
    assert run(ember) == run(torch)
