"""autograd.Function: each behaviour run on torch and on ember, results compared."""
import numpy as np
import pytest
import torch

import ember

from tests.autograd_compare import both, np_

LIBS = [torch, ember]
X = np.array([0.5, -1.0, 2.0], dtype=np.float64)


def leaf(lib, arr=X, dtype=None):
    return lib.tensor(arr, dtype=dtype or lib.float64, requires_grad=True)


def make_exp(lib):
    class Exp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            y, = ctx.saved_tensors
            return grad * y
    return Exp


def test_custom_exp_values_grads_and_name():
    def run(lib):
        x = leaf(lib)
        y = make_exp(lib).apply(x)
        names = (y.grad_fn.name(), type(y.grad_fn).__name__, y.requires_grad, y.is_leaf)
        y.sum().backward()
        return y, x.grad, names
    both(run)


def test_forward_runs_without_grad_and_sees_inputs():
    def run(lib):
        seen = []

        class F(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                seen.append((lib.is_grad_enabled(), x.requires_grad))
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2
        y = F.apply(leaf(lib))
        return seen, y.grad_fn is not None
    both(run)


def test_no_graph_when_not_needed():
    def run(lib):
        y = make_exp(lib).apply(lib.tensor(X))
        with lib.no_grad():
            z = make_exp(lib).apply(leaf(lib))
        return y.grad_fn is None, y.requires_grad, z.grad_fn is None, z.requires_grad
    both(run)


def test_non_tensor_args_needs_input_grad_and_none_grads():
    def run(lib):
        seen = []

        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k, w):
                ctx.k = k
                return x * k * w

            @staticmethod
            def backward(ctx, g):
                seen.append(ctx.needs_input_grad)
                return g * ctx.k, None, None
        x = leaf(lib)
        w = lib.tensor(X)
        y = Scale.apply(x, 3.0, w)
        y.sum().backward()
        return x.grad, seen, len(y.grad_fn.next_functions)
    both(run)


def test_kwargs_and_defaults():
    def run(lib):
        class Pow(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, p=2.0):
                ctx.save_for_backward(x)
                ctx.p = p
                return x ** p

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return g * ctx.p * x ** (ctx.p - 1), None
        x = leaf(lib)
        Pow.apply(x).sum().backward()
        a = x.grad.clone()
        x.grad = None
        Pow.apply(x, 3.0).sum().backward()
        return a, x.grad
    both(run)


def test_multiple_outputs_and_unused_output_gets_zeros():
    def run(lib):
        received = []

        class Split(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                received.append((g1.tolist(), g2.tolist()))
                return g1 * 2 + g2 * 3
        x = leaf(lib)
        a, b = Split.apply(x)
        a.sum().backward()
        return x.grad, received, a.grad_fn is b.grad_fn, (a.output_nr, b.output_nr)
    both(run)


def test_set_materialize_grads_false_gives_none():
    def run(lib):
        received = []

        class Split(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x.clone(), x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                received.append((g1 is None, g2 is None))
                return g1
        x = leaf(lib)
        a, _ = Split.apply(x)
        a.sum().backward()
        return x.grad, received
    both(run)


def test_mark_non_differentiable():
    def run(lib):
        received = []

        class SortLike(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                mask = x > 0
                y = x * 2
                ctx.mark_non_differentiable(mask)
                return y, mask, x.detach() * 0

            @staticmethod
            def backward(ctx, g, gmask, gz):
                received.append((gmask.dtype == lib.bool, gmask.tolist()))
                return g * 2
        x = leaf(lib)
        y, mask, z = SortLike.apply(x)
        y.sum().backward()
        return x.grad, received, mask.requires_grad, z.requires_grad
    both(run)


def test_setup_context_style():
    def run(lib):
        class Mul(lib.autograd.Function):
            @staticmethod
            def forward(x, y):
                return x * y

            @staticmethod
            def setup_context(ctx, inputs, output):
                x, y = inputs
                ctx.save_for_backward(x, y)

            @staticmethod
            def backward(ctx, g):
                x, y = ctx.saved_tensors
                return g * y, g * x
        x, y = leaf(lib), leaf(lib, X[::-1].copy())
        z = Mul.apply(x, y)
        z.sum().backward()
        return z, x.grad, y.grad, z.grad_fn.name()
    both(run)


def test_mark_dirty_inplace():
    def run(lib):
        class Double_(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2
        a = leaf(lib)
        b = a.clone()
        c = Double_.apply(b)
        c.sum().backward()
        return c is b, b.grad_fn.name(), b._version, a.grad
    both(run)


def test_mark_dirty_on_leaf_raises():
    for lib in LIBS:
        class Double_(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            Double_.apply(leaf(lib))


def _scale_inplace(lib):
    class Scale_(lib.autograd.Function):
        """x *= w in place; marks x dirty."""
        @staticmethod
        def forward(ctx, x, w):
            ctx.mark_dirty(x)
            ctx.save_for_backward(w)
            x.mul_(w)
            return x

        @staticmethod
        def backward(ctx, g):
            (w,) = ctx.saved_tensors
            return g * w, g
    return Scale_


def test_mark_dirty_on_a_view_rewrites_the_base_history():
    def run(lib):
        Scale_ = _scale_inplace(lib)
        a = leaf(lib, np.array([1.0, 2.0, 3.0, 4.0]))
        w = leaf(lib, np.array([10.0, 20.0]))
        b = a * 1
        v = b[1:3]
        out = Scale_.apply(v, w)
        # the base's history now goes through the Function; the view is the base viewed again
        base_fn = b.grad_fn.name()
        (b * lib.arange(4.0, dtype=lib.float64)).sum().backward()
        # a view of a view, and a base that needed no grad before
        c = lib.zeros(4, dtype=lib.float64)
        w2 = leaf(lib, np.array([2.0, 3.0]))
        Scale_.apply(c[1:].view(3)[:2], w2)
        needs = c.requires_grad
        (c * lib.arange(4.0, dtype=lib.float64)).sum().backward()
        return out is v, base_fn, b, a.grad, w.grad, needs, w2.grad
    both(run)


def test_mark_dirty_on_a_view_of_a_leaf_raises():
    for lib in LIBS:
        Scale_ = _scale_inplace(lib)
        a = leaf(lib, np.array([1.0, 2.0, 3.0, 4.0]))
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
            Scale_.apply(a[1:3], lib.ones(2, dtype=lib.float64))


def test_input_returned_unchanged_gets_new_history():
    def run(lib):
        class Ident(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 5
        x = leaf(lib)
        y = Ident.apply(x)
        y.sum().backward()
        return y is x, y.grad_fn.name(), x.grad, x.is_leaf
    both(run)


def test_once_differentiable():
    def run(lib):
        from_lib = lib.autograd.function.once_differentiable

        class Sq(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @from_lib
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 2 * x * g
        x = leaf(lib)
        g, = lib.autograd.grad(Sq.apply(x).sum(), x, create_graph=True)
        plain = (g.requires_grad, g.grad_fn is None)
        g2, = lib.autograd.grad((Sq.apply(x) ** 2).sum(), x, create_graph=True)
        with pytest.raises(RuntimeError, match="differentiate twice a function that was marked "
                                               "with @once_differentiable"):
            g2.sum().backward()
        return g, plain, g2.requires_grad, g2.grad_fn.name()
    both(run)


def test_double_backward_through_function():
    def run(lib):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return g * 3 * x ** 2
        x = leaf(lib)
        g, = lib.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
        gg, = lib.autograd.grad(g.sum(), x)
        return g, gg
    e = both(run)
    np.testing.assert_allclose(np_(e[1]), 6 * X)


def test_function_gradcheck_and_gradgradcheck():
    x = leaf(ember)
    Exp = make_exp(ember)
    assert ember.autograd.gradcheck(Exp.apply, (x,))
    assert ember.autograd.gradgradcheck(Exp.apply, (x,))


def test_saved_tensor_modified_inplace_raises():
    for lib in LIBS:
        x = leaf(lib)
        h = x * 1
        y = make_exp(lib).apply(h)
        y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_backward_twice_raises_without_retain_graph():
    def run(lib):
        x = leaf(lib)
        y = make_exp(lib).apply(x)
        y.sum().backward(retain_graph=True)
        y.sum().backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.sum().backward()
        return x.grad
    both(run)


def test_wrong_number_of_grads():
    for lib in LIBS:
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, y):
                return x * y

            @staticmethod
            def backward(ctx, g):
                return g
        with pytest.raises(RuntimeError, match="returned an incorrect number of gradients "
                                               r"\(expected 2, got 1\)"):
            Bad.apply(leaf(lib), leaf(lib)).sum().backward()


def test_wrong_grad_shape():
    for lib in LIBS:
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g.sum()
        with pytest.raises(RuntimeError, match=r"BadBackward returned an invalid gradient at "
                                               r"index 0 - got \[\] but expected shape compatible "
                                               r"with \[3\]"):
            Bad.apply(leaf(lib)).sum().backward()


def test_grad_cast_to_input_dtype():
    def run(lib):
        class Up(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g.double() * 2
        x = leaf(lib, dtype=lib.float32)
        Up.apply(x).sum().backward()
        return x.grad
    both(run)


def test_save_non_tensor_raises_type_error():
    for lib in LIBS:
        class S(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x, 3)
                return x * 2
        with pytest.raises(TypeError, match="save_for_backward can only save variables"):
            S.apply(leaf(lib))


def test_hooks_on_function_node():
    def run(lib):
        calls = []
        x = leaf(lib)
        y = make_exp(lib).apply(x)
        y.grad_fn.register_prehook(lambda go: calls.append("pre") or (go[0] * 2,))
        y.grad_fn.register_hook(lambda gi, go: calls.append("post"))
        y.sum().backward()
        return x.grad, calls
    both(run)


def test_next_functions_of_function_node():
    def run(lib):
        x = leaf(lib)
        h = x * 2
        y = make_exp(lib).apply(h)
        return [fn.name() if fn is not None else None for fn, _ in y.grad_fn.next_functions]
    assert both(run) == ["MulBackward0"]


def test_public_import_paths_in_fresh_interpreter():
    import subprocess
    import sys
    code = ("import ember\n"
            "from ember.autograd.function import once_differentiable, FunctionCtx\n"
            "assert ember.autograd.function.Function is ember.autograd.Function\n"
            "assert callable(ember.autograd.functional.jacobian)\n"
            "assert callable(ember.autograd.gradcheck)\n")
    subprocess.run([sys.executable, "-c", code], check=True)
