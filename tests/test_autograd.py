"""The autograd engine and its user-facing API, each scenario run on torch and on ember
(tests.autograd_compare.both) with the results compared."""
import warnings

import numpy as np
import pytest
import torch

import ember

from tests.autograd_compare import both

LIBS = [torch, ember]
X = np.array([0.5, -1.0, 2.0], dtype=np.float32)
M = np.arange(6, dtype=np.float32).reshape(2, 3) / 4 - 0.5


def leaf(lib, arr=X, dtype=None):
    return lib.tensor(arr, dtype=dtype, requires_grad=True)


def graph(t):
    """The graph behind t as nested (name, [(child, output_nr)...]) tuples."""
    def walk(fn):
        if fn is None:
            return None
        return (fn.name(), [(walk(f), nr) for f, nr in fn.next_functions])
    return walk(t.grad_fn)


# ------------------------------------------------------------------------- backward basics

def test_backward_scalar_and_nonscalar():
    def run(lib):
        x = leaf(lib)
        (x * x).sum().backward()
        g1 = x.grad.clone()
        x.grad = None
        (x * 3).backward(lib.tensor([1.0, 2.0, 3.0]))
        return g1, x.grad
    both(run)


def test_nonscalar_needs_gradient():
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar "
                                               "outputs"):
            (leaf(lib) * 2).backward()


def test_backward_without_grad_raises():
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and "
                                               "does not have a grad_fn"):
            lib.tensor([1.0]).sum().backward()


def test_gradient_shape_mismatch():
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="Mismatch in shape"):
            (leaf(lib) * 2).backward(lib.ones(2))


def test_accumulation_into_grad():
    def run(lib):
        x = leaf(lib)
        (x * 2).sum().backward()
        (x * x).sum().backward()
        return x.grad
    both(run)


def test_first_grad_never_shares_memory_with_other_holders():
    """A leaf's first .grad may keep the engine's gradient buffer (no copy) only when
    nothing else holds it; each case below holds it elsewhere, then writes in place."""
    def run(lib):
        a, b = leaf(lib), leaf(lib, X * 3)
        (a + b).sum().backward()            # one gradient Tensor sent to two leaves
        a.grad.mul_(10)
        kept = []
        c = leaf(lib)
        c.register_hook(lambda g: kept.append(g))
        (c * 2).sum().backward()            # a hook keeps the gradient
        c.grad.add_(1)
        d = leaf(lib)
        y = d.clone()
        y.retain_grad()                      # y.grad is the gradient d receives
        (y * 3).sum().backward()
        d.grad.sub_(5)
        e = leaf(lib)
        g = lib.ones(3)
        e.backward(g)                        # the caller's own gradient tensor
        e.grad.mul_(7)
        f = leaf(lib)
        (f * 4).sum().backward()             # nobody else holds it: later sums still right
        first = f.grad
        (f * f).sum().backward()
        return a.grad, b.grad, kept, c.grad, y.grad, d.grad, g, e.grad, first, f.grad
    both(run)


def _view_grad_function(lib, kept):
    """x -> x, whose backward returns a reshape view of a fresh array, kept in `kept` when
    the second input is True."""
    class ViewGrad(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, keep):
            ctx.keep = keep
            return x * 1

        @staticmethod
        def backward(ctx, g):
            base = (g * 2).reshape(1, 3)
            if ctx.keep:
                kept.append(base)
            return base.reshape(3), None
    return ViewGrad


def test_first_grad_view_of_a_held_base_is_copied():
    """A gradient that is a view (a reshape) is kept as the first .grad without a copy only
    when nothing else holds its base (a conv's weight gradient, a reshape of its GEMM's
    output). Where the base is held, ember copies, so .grad written in place leaves it
    alone. (PyTorch steals the view whenever the gradient Tensor itself is unshared, and
    here the kept base would read 20: ember's arrays may come from buffers an op keeps,
    which torch's tensors do not.)"""
    kept = []
    w = leaf(ember)
    _view_grad_function(ember, kept).apply(w, True).sum().backward()
    w.grad.mul_(10)
    np.testing.assert_array_equal(kept[0].numpy(), [[2, 2, 2]])
    np.testing.assert_array_equal(w.grad.numpy(), [20, 20, 20])


def test_first_grad_view_of_a_free_base_sums_right():
    def run(lib):
        v = leaf(lib)
        _view_grad_function(lib, []).apply(v, False).sum().backward()
        first = v.grad
        (v * v).sum().backward()
        return first, v.grad
    both(run)


def test_retain_graph_and_second_backward():
    def run(lib):
        x = leaf(lib)
        y = (x.exp() * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second "
                                               "time"):
            y.backward()
        return x.grad
    both(run)


def test_no_saved_tensors_second_backward_is_fine():
    def run(lib):
        x = leaf(lib)
        y = (x + 1).sum()
        y.backward()
        y.backward()
        return x.grad
    both(run)


def test_create_graph_second_derivative_of_quadratic():
    def run(lib):
        a, b, c = 1.0, 3.0, -2.0
        x = lib.tensor(1.5, requires_grad=True)
        y = a * x ** 2 + b * x + c
        dy, = lib.autograd.grad(y, x, create_graph=True)
        d2y, = lib.autograd.grad(dy, x)
        return dy, d2y
    e = both(run)
    assert e[1].item() == 2.0


def test_third_derivative_and_backward_create_graph():
    def run(lib):
        x = leaf(lib)
        y = (x.sin() * x ** 3).sum()
        y.backward(create_graph=True)
        g1 = x.grad
        g2, = lib.autograd.grad(g1.sum(), x, create_graph=True)
        g3, = lib.autograd.grad(g2.sum(), x)
        return g1.requires_grad, g1, g2, g3
    both(run)


# ------------------------------------------------------------------------- autograd.grad

def test_grad_allow_unused_and_materialize():
    def run(lib):
        x, y = leaf(lib), leaf(lib)
        out = (x * 2).sum()
        with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
            lib.autograd.grad(out, (x, y), retain_graph=True)
        gx, gy = lib.autograd.grad(out, (x, y), allow_unused=True, retain_graph=True)
        mx, my = lib.autograd.grad(out, (x, y), materialize_grads=True)
        return gx, gy is None, mx, my, x.grad is None
    both(run)


def test_grad_materialize_with_allow_unused_false_raises():
    for lib in LIBS:
        x = leaf(lib)
        with pytest.raises(ValueError):
            lib.autograd.grad(x.sum(), x, allow_unused=False, materialize_grads=True)


def test_grad_is_grads_batched():
    def run(lib):
        x, y = leaf(lib), leaf(lib, M[0])
        out = x * x * 3
        eye = lib.eye(3)
        (jac,) = lib.autograd.grad(out, x, eye, is_grads_batched=True, retain_graph=True)
        # two outputs, one batch of cotangents each; an unused input stays None or is
        # materialized unbatched, as PyTorch's vmap leaves it
        both_out = (out, (x * y).sum())
        gx, gy = lib.autograd.grad(both_out, (x, y), [eye, lib.tensor([1.0, 2.0, -1.0])],
                                   is_grads_batched=True, retain_graph=True)
        z = leaf(lib)
        _, gz = lib.autograd.grad(out, (x, z), eye[:2], is_grads_batched=True,
                                  allow_unused=True, retain_graph=True)
        _, mz = lib.autograd.grad(out, (x, z), eye[:2], is_grads_batched=True,
                                  materialize_grads=True, retain_graph=True)
        # create_graph: the batched gradients are differentiable again
        (h,) = lib.autograd.grad(out, x, eye, is_grads_batched=True, create_graph=True)
        (hh,) = lib.autograd.grad(h.sum(), x)
        return jac, gx, gy, gz is None, mz, h, hh
    both(run)


def test_grad_is_grads_batched_errors():
    for lib in LIBS:
        x = leaf(lib)
        out = x * 2
        with pytest.raises(RuntimeError, match="the first dimension of each grad_output"):
            lib.autograd.grad(out, x, lib.ones(2, 4), is_grads_batched=True, retain_graph=True)
        with pytest.raises(ValueError, match="same size in the mapped dimension"):
            lib.autograd.grad((out, x.sum()), x, (lib.ones(2, 3), lib.ones(3)),
                              is_grads_batched=True, retain_graph=True)
        with pytest.raises(IndexError):
            lib.autograd.grad(out, x, lib.ones(0, 3), is_grads_batched=True)


def test_grad_of_input_not_requiring_grad():
    for lib in LIBS:
        x = leaf(lib)
        with pytest.raises(RuntimeError, match="One of the differentiated Tensors does not "
                                               "require grad"):
            lib.autograd.grad(x.sum(), lib.tensor([1.0]))


def test_grad_with_grad_outputs_and_several_outputs():
    def run(lib):
        x = leaf(lib)
        a, b = x * 2, x.exp()
        return lib.autograd.grad((a, b), x, (lib.ones(3), lib.tensor([1.0, 0.0, 2.0])))
    both(run)


def test_grad_wrt_intermediate():
    def run(lib):
        x = leaf(lib)
        h = x * 3
        y = (h ** 2).sum()
        gh, gx = lib.autograd.grad(y, (h, x))
        return gh, gx
    both(run)


def test_backward_inputs():
    def run(lib):
        x, y = leaf(lib), leaf(lib)
        h = x * y
        (h * h).sum().backward(inputs=[x])
        out = [x.grad, y.grad is None]
        (x * y).sum().backward(inputs=(y,))
        return out + [y.grad]
    both(run)


def test_backward_inputs_non_leaf():
    def run(lib):
        x = leaf(lib)
        h = x * 2
        (h * h).sum().backward(inputs=[h])
        return h.grad, x.grad is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both(run)


def test_backward_empty_inputs_raises():
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="`inputs` argument to `backward\\(\\)` cannot "
                                               "be empty"):
            (leaf(lib) * 2).sum().backward(inputs=[])


# ------------------------------------------------------------------------- .grad and hooks

def test_nonleaf_grad_warns():
    for lib in LIBS:
        h = leaf(lib) * 2
        h.sum().backward()
        with pytest.warns(UserWarning, match="is not a leaf Tensor is being accessed"):
            assert h.grad is None


def test_retain_grad():
    def run(lib):
        x = leaf(lib)
        h = x * 2
        h.retain_grad()
        (h * h).sum().backward(retain_graph=True)
        first = h.grad.clone()
        (h * h).sum().backward()
        return first, h.grad, h.retains_grad, x.grad
    both(run)


def test_tensor_hook_modifies_grad_and_handle_removes():
    def run(lib):
        x = leaf(lib)
        seen = []
        handle = x.register_hook(lambda g: g * 10)
        h = x * 2
        h.register_hook(lambda g: seen.append(g.clone()))
        (h * h).sum().backward()
        first = x.grad.clone()
        handle.remove()
        x.grad = None
        (x * 1).sum().backward()
        return first, x.grad, seen
    both(run)


def test_hook_on_nonleaf_changes_upstream_grad():
    def run(lib):
        x = leaf(lib)
        h = x * 2
        h.register_hook(lambda g: g + 1)
        (h * 3).sum().backward()
        return x.grad
    both(run)


def test_hook_on_tensor_without_grad_raises():
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't "
                                               "require gradient"):
            lib.tensor([1.0]).register_hook(lambda g: g)


def test_node_hooks():
    def run(lib):
        calls = []
        x = leaf(lib)
        y = x.exp() * 2
        node = y.grad_fn

        def pre(grad_outputs):
            calls.append(("pre", len(grad_outputs)))
            return (grad_outputs[0] * 3,)

        def post(grad_inputs, grad_outputs):
            calls.append(("post", len(grad_inputs), len(grad_outputs)))
        h1 = node.register_prehook(pre)
        node.register_hook(post)
        y.sum().backward(retain_graph=True)
        g = x.grad.clone()
        h1.remove()
        x.grad = None
        y.sum().backward()
        return g, x.grad, calls
    both(run)


def test_post_accumulate_grad_hook():
    def run(lib):
        x = leaf(lib)
        seen = []

        def hook(t):
            seen.append(t.grad.clone())
            t.grad.mul_(0.5)
        x.register_post_accumulate_grad_hook(hook)
        (x * 4).sum().backward()
        return x.grad, seen
    both(run)


def test_post_accumulate_grad_hook_on_nonleaf_raises():
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered "
                                               "on non-leaf tensors"):
            (leaf(lib) * 2).register_post_accumulate_grad_hook(lambda t: None)


# ------------------------------------------------------------------------- grad modes

def test_grad_mode_context_managers():
    def run(lib):
        x = leaf(lib)
        out = []
        with lib.no_grad():
            out.append((x * 2).requires_grad)
            with lib.enable_grad():
                out.append((x * 2).requires_grad)
            out.append(lib.is_grad_enabled())
        with lib.set_grad_enabled(False):
            out.append((x * 2).requires_grad)
        out.append(lib.is_grad_enabled())
        with lib.inference_mode():
            out.append((x * 2).requires_grad)
            out.append(lib.is_inference_mode_enabled())
        with lib.inference_mode(False):
            out.append((x * 2).requires_grad)
        out.append((x * 2).requires_grad)
        return out
    both(run)


def test_set_grad_enabled_as_function():
    def run(lib):
        x = leaf(lib)
        lib.set_grad_enabled(False)
        try:
            off = (x * 2).requires_grad, lib.is_grad_enabled()
        finally:
            lib.set_grad_enabled(True)
        return off, (x * 2).requires_grad
    both(run)


def test_grad_mode_decorators():
    def run(lib):
        x = leaf(lib)

        @lib.no_grad()
        def f1(t):
            return t * 2

        @lib.no_grad
        def f2(t):
            return t * 2

        @lib.enable_grad()
        def f3(t):
            return t * 2

        @lib.set_grad_enabled(False)
        def f4(t):
            return t * 2

        @lib.inference_mode()
        def f5(t):
            return t * 2

        with lib.no_grad():
            r3 = f3(x).requires_grad
        return (f1(x).requires_grad, f2(x).requires_grad, r3, f4(x).requires_grad,
                f5(x).requires_grad, lib.is_grad_enabled(), f1.__name__)
    # set_grad_enabled(False) as a decorator also switches grad mode off when created
    torch.set_grad_enabled(True)
    try:
        both(run)
    finally:
        torch.set_grad_enabled(True)
        ember.set_grad_enabled(True)


def test_grad_mode_restored_after_exception():
    for lib in LIBS:
        with pytest.raises(ValueError):
            with lib.no_grad():
                raise ValueError
        assert lib.is_grad_enabled()


# ------------------------------------------------------------------------- requires_grad, detach

def test_requires_grad_detach():
    def run(lib):
        x = lib.tensor(X)
        a = x.requires_grad_()
        h = x * 2
        d = h.detach()
        d2 = h * 1
        d2.detach_()
        out = [a is x, x.requires_grad, x.is_leaf, h.is_leaf, d.requires_grad, d.is_leaf,
               d2.requires_grad, d2.grad_fn is None]
        d.add_(100.0)  # shares memory with h
        out.append(h)
        return out
    both(run)


def test_requires_grad_errors():
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="only Tensors of floating point"):
            lib.tensor([1, 2]).requires_grad_()
        with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf "
                                               "variables"):
            (leaf(lib) * 2).requires_grad_(False)


# ------------------------------------------------------------------------- in-place

def test_inplace_on_leaf_requiring_grad_raises():
    for lib in LIBS:
        x = leaf(lib)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                               "in an in-place operation"):
            x.add_(1)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is "
                                               "being used in an in-place operation"):
            x[0:2].mul_(2)
        with lib.no_grad():
            x.add_(1)  # allowed without grad recording
        assert x._version == 1


def test_inplace_on_saved_tensor_names_versions():
    messages = []
    for lib in LIBS:
        x = leaf(lib)
        h = x * 2
        y = h.exp()  # saves its output
        y.add_(1)
        with pytest.raises(RuntimeError) as ei:
            y.sum().backward()
        messages.append(str(ei.value).split(" Hint:")[0])
    assert messages[1] == messages[0], messages
    assert "which is output 0 of Exp, is at version 1; expected version 0 instead" in messages[1]


def test_inplace_on_saved_input_raises():
    messages = []
    for lib in LIBS:
        x = leaf(lib)
        h = x * 2
        y = h * h  # saves h
        h.mul_(3)
        with pytest.raises(RuntimeError) as ei:
            y.sum().backward()
        messages.append(str(ei.value).split(" Hint:")[0])
    assert messages[1] == messages[0], messages


def test_inplace_on_nonleaf():
    def run(lib):
        x = leaf(lib)
        h = x * 2
        h.mul_(x)
        h.add_(1)
        h.exp_()
        h.sum().backward()
        return x.grad, h.grad_fn.name(), h._version
    both(run)


def test_inplace_on_view_of_nonleaf():
    def run(lib):
        x = leaf(lib, M)
        h = x * 1
        v = h[:, 1:]
        v.mul_(3)
        row = h[0]
        row.add_(x[1])
        (h * h).sum().backward()
        return x.grad, h.grad_fn.name(), repr(h.grad_fn).split()[0], h._version, v._version
    both(run)


def test_version_counter_shared_with_views():
    def run(lib):
        x = lib.tensor(M)
        v = x.t()
        d = x.detach()
        x.add_(1)
        v.mul_(2)
        return x._version, v._version, d._version
    both(run)


# ------------------------------------------------------------------------- graph structure

def test_grad_fn_names_and_next_functions():
    def run(lib):
        a, b, c = leaf(lib), leaf(lib), lib.tensor(X)
        y = (a * b + c).sum()
        z = (a.exp() - b * 2).mean()
        return graph(y), graph(z), graph(a * 2), y.grad_fn.next_functions[0][1]
    both(run)


def test_accumulate_grad_node_is_shared():
    def run(lib):
        a = leaf(lib)
        y1, y2 = a * 2, a + 1
        n1 = y1.grad_fn.next_functions[0][0]
        n2 = y2.grad_fn.next_functions[0][0]
        return n1 is n2, n1.variable is a, n1.name()
    both(run)


def test_long_chain_no_recursion_error():
    def run(lib):
        x = lib.tensor([1.0], requires_grad=True)
        y = x
        for _ in range(10000):
            y = y * 1.0001
        y.sum().backward()
        return x.grad
    both(run)


def test_long_chain_create_graph():
    def run(lib):
        x = lib.tensor([0.5], requires_grad=True)
        y = x
        for _ in range(3000):
            y = y * 0.999 + 0.001 * y * y
        g, = lib.autograd.grad(y.sum(), x, create_graph=True)
        g2, = lib.autograd.grad(g.sum(), x)
        return g, g2
    both(run)


# ------------------------------------------------------------------------- multi-output, dtypes

def test_multi_output_ops():
    def run(lib):
        x = leaf(lib, M)
        a, b = x.split([1, 2], dim=1)
        u, w = x.unbind(0)
        vals, idx = x.max(dim=1)
        (a.sum() * 2 + (b * b).sum() + (u * w).sum() + vals.sum()).backward()
        return x.grad, a.grad_fn.name(), u.grad_fn.name(), vals.grad_fn.name(), \
            idx.requires_grad, a.output_nr, b.output_nr
    both(run)


def test_multi_output_only_one_used():
    def run(lib):
        x = leaf(lib, M)
        a, b, c = x.unbind(1)
        (b * 3).sum().backward()
        return x.grad
    both(run)


@pytest.mark.parametrize("da,db", [("float32", "float64"), ("float16", "float32"),
                                   ("float64", "int64"), ("bfloat16", "float32")])
def test_grad_dtypes_for_mixed_ops(da, db):
    def run(lib):
        a = lib.tensor(X, dtype=getattr(lib, da), requires_grad=True)
        b = lib.tensor([1, 2, 3], dtype=getattr(lib, db))
        if b.dtype.is_floating_point:
            b.requires_grad_()
        y = a * b + b
        y.sum().backward()
        return y.dtype == a.dtype, a.grad, (b.grad if b.requires_grad else None)
    both(run)


def test_broadcast_grads_reduce_to_input_shape():
    def run(lib):
        a = leaf(lib, M)
        b = leaf(lib, X)
        c = lib.tensor(2.0, requires_grad=True)
        ((a * b + c) ** 2).sum().backward()
        return a.grad, b.grad, c.grad
    both(run)


# ------------------------------------------------------------------------- anomaly mode

def test_anomaly_reports_nan_and_forward_trace():
    for lib in LIBS:
        x = lib.tensor([0.0, 1.0], requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with lib.autograd.detect_anomaly():
                y = (x / x).sum()  # the forward line the report must show
                with pytest.raises(RuntimeError, match=r"Function 'DivBackward0' returned nan "
                                                       r"values in its 1th output\."):
                    y.backward()
        texts = [str(w.message) for w in caught]
        assert any(t.startswith("Anomaly Detection has been enabled") for t in texts)
        trace = [t for t in texts if t.startswith("Error detected in DivBackward0")]
        assert trace and "y = (x / x).sum()" in trace[0], texts
        assert "ember/_ops" not in trace[0]


def test_anomaly_flags_and_nan_without_anomaly():
    def run(lib):
        out = [lib.is_anomaly_enabled()]
        lib.autograd.set_detect_anomaly(True)
        out.append(lib.is_anomaly_enabled())
        lib.autograd.set_detect_anomaly(False)
        with lib.autograd.set_detect_anomaly(True):
            out.append(lib.is_anomaly_enabled())
        out.append(lib.is_anomaly_enabled())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with lib.autograd.detect_anomaly(check_nan=False):
                out.append(lib.is_anomaly_check_nan_enabled())
                x = lib.tensor([0.0, 1.0], requires_grad=True)
                (x / x).sum().backward()  # no check: NaN gradients pass
        out.append(x.grad)
        out.append(lib.is_anomaly_check_nan_enabled())
        return out
    both(run)


def test_anomaly_backward_exception_reports_trace():
    for lib in LIBS:
        class Boom(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 1

            @staticmethod
            def backward(ctx, g):
                raise ValueError("boom")
        x = leaf(lib)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with lib.autograd.detect_anomaly():
                with pytest.raises(ValueError, match="boom"):
                    Boom.apply(x).sum().backward()
        assert any(str(w.message).startswith("Error detected in BoomBackward") for w in caught)


def test_plain_backward_after_create_graph_accumulates_in_place():
    """AccumulateGrad outside grad mode adds into the existing .grad: a gradient made by a
    create_graph backward keeps its graph and requires_grad (ember replaced it by a
    detached sum)."""
    import torch
    import warnings
    for lib in (torch, ember):
        x = lib.ones(2, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (x ** 3).sum().backward(create_graph=True)
        first = x.grad
        (x ** 3).sum().backward()
        assert x.grad is first and x.grad.requires_grad and x.grad.grad_fn is not None
        assert x.grad.tolist() == [6.0, 6.0]


def test_create_graph_backward_warns_once_as_torch():
    """backward(create_graph=True) warns once per process about the parameter/gradient
    reference cycle, as PyTorch's engine does (autograd.grad does not)."""
    import subprocess
    import sys
    code = """
import warnings, {lib} as t
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    y = t.ones(2, requires_grad=True)
    t.autograd.grad((y * 2).sum(), y, create_graph=True)
    n_grad = len(w)
    for _ in range(2):
        x = t.ones(2, requires_grad=True)
        (x ** 3).sum().backward(create_graph=True)
print(n_grad, [str(m.message)[:60] for m in w])
"""
    outs = [subprocess.run([sys.executable, "-c", code.format(lib=lib)], capture_output=True,
                           text=True).stdout.strip() for lib in ("torch", "ember")]
    assert outs[1] == outs[0] and outs[0].startswith("0 ['Using backward() with create_graph")
