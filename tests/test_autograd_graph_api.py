"""ember.autograd.graph's public helpers (saved-tensor hooks, save_on_cpu, gradient edges,
increment_version, multi-grad hooks) and leaf hooks under autograd.grad, each scenario run
on ember and on torch with the same program and compared."""
import pytest

import ember

torch = pytest.importorskip("torch")


def _lists(t):
    return None if t is None else t.detach().tolist()


def scenario_pack_unpack(m):
    log = []
    G = m.autograd.graph

    def pack(x):
        log.append(("pack", tuple(x.shape), x.grad_fn is not None, m.is_grad_enabled()))
        return x

    def unpack(x):
        log.append(("unpack", tuple(x.shape)))
        return x

    a = m.ones(5, requires_grad=True)
    b = m.ones(5, requires_grad=True) * 2
    with G.saved_tensors_hooks(pack, unpack):
        y = a * b
    y.sum().backward()
    return sorted(log), _lists(a.grad)


def scenario_packed_value_is_used(m):
    a = m.tensor([1.0, 2.0], requires_grad=True)
    with m.autograd.graph.saved_tensors_hooks(lambda x: x * 0 + 10, lambda x: x):
        y = a * a
    y.sum().backward()
    return _lists(a.grad)


def scenario_function_save_for_backward(m):
    log = []

    class Double(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * x

    a = m.tensor([1.0, 3.0], requires_grad=True)
    with m.autograd.graph.saved_tensors_hooks(lambda x: log.append("pack") or x,
                                              lambda x: log.append("unpack") or x):
        y = Double.apply(a)
    y.sum().backward()
    return log, _lists(a.grad)


def scenario_nested_innermost_wins(m):
    log = []
    G = m.autograd.graph
    a = m.tensor([1.0, 2.0], requires_grad=True)
    with G.saved_tensors_hooks(lambda x: log.append("outer") or x, lambda x: x):
        with G.saved_tensors_hooks(lambda x: log.append("inner") or x, lambda x: x):
            y = a * a
    y.sum().backward()
    return log


def scenario_no_version_check(m):
    a = m.ones(3, requires_grad=True)
    with m.autograd.graph.saved_tensors_hooks(lambda x: x.clone(), lambda x: x):
        y = a * 1
        z = y * y
    y.add_(1)
    z.sum().backward()
    return _lists(a.grad)


def scenario_save_on_cpu_double_backward(m):
    x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with m.autograd.graph.save_on_cpu():
        y = (x ** 3).sum()
    g, = m.autograd.grad(y, x, create_graph=True)
    g2, = m.autograd.grad(g.sum(), x)
    return _lists(g), _lists(g2)


def scenario_gradient_edge(m):
    G = m.autograd.graph
    x = m.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    out = (h * h).sum()
    e = G.get_gradient_edge(h)
    leaf = G.get_gradient_edge(x)
    g, = m.autograd.grad(out, e, retain_graph=True)
    gl, = m.autograd.grad(out, leaf)
    return e.output_nr, e.node is h.grad_fn, _lists(g), _lists(gl)


def scenario_increment_version(m):
    v = m.ones(2)
    w = m.ones(2)
    before = (v._version, w._version)
    m.autograd.graph.increment_version(v)
    m.autograd.graph.increment_version([v, w])
    return before, (v._version, w._version)


def scenario_multi_grad_hook(m):
    G = m.autograd.graph
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = m.tensor([3.0], requires_grad=True)
    z = m.tensor([5.0], requires_grad=True)
    calls = []
    h = G.register_multi_grad_hook((x, y, z), lambda gs: calls.append([_lists(g) for g in gs]))
    (x.sum() * y.sum()).backward()
    (x.sum() * z.sum()).backward()
    h.remove()
    (x.sum() * z.sum()).backward()
    h = G.register_multi_grad_hook((x, y), lambda g: calls.append(_lists(g)), mode="any")
    (x.sum() * y.sum()).backward()
    h.remove()
    return calls


def scenario_leaf_hook_under_autograd_grad(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(_lists(g)) or g * 2)
    g, = m.autograd.grad((x * x).sum(), x)
    (x * x).sum().backward(inputs=[x])
    (x * x).sum().backward()
    return seen, _lists(g), _lists(x.grad)


def scenario_leaves_accumulate_as_soon_as_ready(m):
    # PyTorch runs a leaf's AccumulateGrad (its hooks, .grad, post-accumulate hooks) as soon
    # as its gradient is complete, before other ready nodes
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = m.tensor([3.0], requires_grad=True)
    w = m.tensor([4.0], requires_grad=True)
    order = []
    for name, t in (("x", x), ("y", y), ("w", w)):
        t.register_hook(lambda g, name=name: order.append(name))
        t.register_post_accumulate_grad_hook(lambda p, name=name: order.append("post" + name))
    (x.sum() * y.sum() + w * x[0]).sum().backward()
    return order


SCENARIOS = [v for k, v in sorted(globals().items()) if k.startswith("scenario_")]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__[9:])
def test_same_as_torch(scenario):
    assert scenario(ember) == scenario(torch)


def _error(m, fn):
    try:
        fn(m)
    except Exception as e:  # noqa: BLE001 - the type and message are compared
        return type(e).__name__, str(e).replace("torch.", "ember.")
    return None


def err_unpack_not_tensor(m):
    a = m.ones(3, requires_grad=True)
    with m.autograd.graph.saved_tensors_hooks(lambda x: x, lambda x: 3):
        z = a * a
    z.sum().backward()


def err_pack_in_place(m):
    a = m.ones(3, requires_grad=True)
    with m.autograd.graph.saved_tensors_hooks(lambda x: x.mul_(2), lambda x: x):
        a.detach().requires_grad_() * m.ones(3).requires_grad_()


def err_disabled(m):
    G = m.autograd.graph
    with G.disable_saved_tensors_hooks("no hooks here"):
        with G.saved_tensors_hooks(lambda x: x, lambda x: x):
            pass


def err_edge_without_grad(m):
    m.autograd.graph.get_gradient_edge(m.ones(2))


def err_multi_hook_mode(m):
    m.autograd.graph.register_multi_grad_hook((m.ones(1, requires_grad=True),), print,
                                              mode="sometimes")


ERRORS = [v for k, v in sorted(globals().items()) if k.startswith("err_")]


@pytest.mark.parametrize("case", ERRORS, ids=lambda f: f.__name__[4:])
def test_errors_as_torch(case):
    got = _error(ember, case)
    assert got is not None
    assert got == _error(torch, case)


def test_hooks_leave_no_trace_after_the_block():
    from ember.autograd.saved_hooks import SAVED_HOOKS
    a = ember.ones(2, requires_grad=True)
    with ember.autograd.graph.saved_tensors_hooks(lambda x: x, lambda x: x):
        pass
    assert SAVED_HOOKS == []
    y = a * a
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b = a.clone()
        z = b * b
        b.add_(1)
        z.sum().backward()
    y.sum().backward()
    assert a.grad.tolist() == [2.0, 2.0]


def _mutation_programs():
    def sin_after_save(m):
        with m.autograd.graph.allow_mutation_on_saved_tensors():
            a = m.ones(2, 3, requires_grad=True)
            b = a.clone()
            out = (b ** 2).sum()
            b.sin_()
            out.backward()
            return [a.grad, b]

    def view_mutated(m):
        with m.autograd.graph.allow_mutation_on_saved_tensors():
            a = m.tensor([0.5, 1.0, 1.5, 2.0], requires_grad=True)
            b = a.clone()
            out = b.exp().sum()
            b[:2].mul_(0)
            out.backward()
            return [a.grad, b]

    def saved_result_mutated(m):
        with m.autograd.graph.allow_mutation_on_saved_tensors():
            w = m.tensor([1.0, 2.0], requires_grad=True)
            v = w * 1
            s = (v.exp() * v).sum()
            v.add_(10)
            s.backward()
            return w.grad

    def double_backward(m):
        with m.autograd.graph.allow_mutation_on_saved_tensors():
            x = m.tensor([0.5, 1.5], requires_grad=True)
            (g,) = m.autograd.grad((x.sin() ** 2).sum(), x, create_graph=True)
            (gg,) = m.autograd.grad(g.sum(), x)
            return [g, gg]

    def backward_outside(m):
        with m.autograd.graph.allow_mutation_on_saved_tensors():
            a = m.ones(2, requires_grad=True)
            b = a.clone()
            out = (b * b).sum()
            b.mul_(3)
        out.backward()

    def nested(m):
        with m.autograd.graph.allow_mutation_on_saved_tensors():
            with m.autograd.graph.allow_mutation_on_saved_tensors():
                pass

    return {"sin_after_save": sin_after_save, "view_mutated": view_mutated,
            "saved_result_mutated": saved_result_mutated, "double_backward": double_backward,
            "backward_outside": backward_outside, "nested": nested}


@pytest.mark.parametrize("name", list(_mutation_programs()))
def test_allow_mutation_on_saved_tensors(name):
    """Saved tensors modified in place afterwards: backward reads the values they had when
    saved, as PyTorch's; its errors for nesting and for backward outside the context."""
    from tests.program_compare import run, same
    program = _mutation_programs()[name]
    t, e = run(program, torch), run(program, ember)
    assert same(t, e, rtol=1e-6, atol=1e-6), (t, e)


def test_allow_mutation_leaves_the_usual_check_outside():
    with ember.autograd.graph.allow_mutation_on_saved_tensors():
        pass
    a = ember.ones(2, requires_grad=True)
    b = a.clone()
    z = b * b
    b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
