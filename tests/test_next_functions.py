"""grad_fn.next_functions has PyTorch's edges: one per differentiable tensor argument of
the op's overload, (None, 0) for a tensor that needs no gradient or an optional tensor
not given; a Python number for a Scalar argument (x ** 2, clamp(x, 0.5)) and a mask are
no edges. Gradients through those nodes match torch's."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _cases(lib):
    F = lib.nn.functional
    x = lib.tensor([0.5, -1.5, 2.0], requires_grad=True)
    w = lib.tensor([1.0, 0.25, -0.5])
    wg = lib.tensor([1.0, 0.25, -0.5], requires_grad=True)
    m = lib.tensor([True, False, True])
    v = lib.tensor(3.0, requires_grad=True)
    return {
        "mul_number": lambda: x * 2, "mul_mask": lambda: x * m, "add_number": lambda: x + 2,
        "div_number": lambda: x / 2, "pow_number": lambda: x ** 2, "rpow": lambda: 2 ** x,
        "pow_tensor": lambda: x ** wg, "rsub_number": lambda: 2 - x,
        "rsub_tensors": lambda: lib.rsub(x, wg), "where_number": lambda: lib.where(m, x, 2.0),
        "where_tensors": lambda: lib.where(m, x, wg), "clamp_numbers": lambda: x.clamp(-1, 1),
        "clamp_tensor": lambda: x.clamp(wg), "clamp_min_number": lambda: x.clamp_min(0.0),
        "clamp_min_tensor": lambda: x.clamp_min(wg), "clamp_max_tensor": lambda: x.clamp_max(wg),
        "lerp_number": lambda: lib.lerp(x, wg, 0.5), "lerp_tensor": lambda: lib.lerp(x, wg, w),
        "masked_fill_number": lambda: x.masked_fill(m, 1.0),
        "masked_fill_tensor": lambda: x.masked_fill(m, v),
        "index_fill_number": lambda: x.index_fill(0, lib.tensor([1]), 2.0),
        "fill_number": lambda: lib.fill(x, 2.0), "fill_tensor": lambda: lib.fill(x, v),
        "fill_inplace": lambda: x.clone().fill_(v), "zero_": lambda: x.clone().zero_(),
        "remainder_number": lambda: lib.remainder(x, 2.0), "fmod_number": lambda: lib.fmod(x, 2.0),
        "xlogy_number": lambda: lib.xlogy(x, 2.0), "xlogy_rnumber": lambda: lib.xlogy(2.0, x),
        "copysign_number": lambda: lib.copysign(x, 2.0),
        "batch_norm_no_weight": lambda: F.batch_norm(x.view(1, 3), lib.zeros(3), lib.ones(3)),
        "layer_norm_no_weight": lambda: F.layer_norm(x, (3,)),
        "addcmul": lambda: lib.addcmul(x, x, w, value=2),
        "elu": lambda: F.elu(x), "celu": lambda: F.celu(x, 0.5), "selu": lambda: F.selu(x),
        "leaky_relu": lambda: F.leaky_relu(x, 0.2),
        "leaky_relu_": lambda: F.leaky_relu_(x.clone(), 0.2),
        "rrelu": lambda: F.rrelu(x), "rrelu_": lambda: F.rrelu_(x.clone()),
    }


CASES = sorted(_cases(ember))


def _edges(fn):
    return [None if f is None else type(f).__name__ for f, _ in fn.next_functions]


@pytest.mark.parametrize("case", CASES)
def test_edges_as_pytorch(case):
    t, e = _cases(torch)[case](), _cases(ember)[case]()
    assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__
    assert _edges(e.grad_fn) == _edges(t.grad_fn)
    # needs_input_grad is PyTorch's too (one flag per edge)
    assert [f is not None for f, _ in e.grad_fn.next_functions] == \
        [f is not None for f, _ in t.grad_fn.next_functions]


@pytest.mark.parametrize("case", CASES)
def test_gradients_through_those_nodes(case):
    """The engine maps the op's gradients (one per operand) onto the edges."""
    def grads(lib):
        cases = _cases(lib)
        out = cases[case]()
        g = lib.ones_like(out)
        inputs = [n.variable for n in _leaves(out.grad_fn)]
        return [a.detach().numpy() for a in lib.autograd.grad(out, inputs, g)]
    for a, b in zip(grads(ember), grads(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def _leaves(fn):
    """The AccumulateGrad nodes below `fn`, in a fixed order."""
    found, stack, seen = [], [fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if type(node).__name__ == "AccumulateGrad":
            found.append(node)
        stack.extend(f for f, _ in reversed(node.next_functions))
    return found


def test_hooks_see_one_gradient_per_edge():
    """A node's post-hook gets grad_inputs as PyTorch does: one per next_functions edge."""
    def seen(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x ** 2
        got = []
        y.grad_fn.register_hook(lambda gi, go: got.append(len(gi)))
        y.sum().backward()
        return got
    assert seen(ember) == seen(torch) == [1]


def test_double_backward_through_a_scalar_overload():
    def second(lib):
        x = lib.tensor([0.5, 1.5], requires_grad=True)
        y = (x ** 3).clamp(0.2).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), x)
        return h.detach().numpy()
    np.testing.assert_allclose(second(ember), second(torch), rtol=1e-6)


_ACTIVATIONS = {
    "elu": lambda F, t: F.elu(t, 0.7), "elu_negative_alpha": lambda F, t: F.elu(t, -0.5),
    "selu": lambda F, t: F.selu(t), "celu": lambda F, t: F.celu(t, 0.6),
    "leaky_relu": lambda F, t: F.leaky_relu(t, 0.2),
    "leaky_relu_negative": lambda F, t: F.leaky_relu(t, -0.3),
    "leaky_relu_": lambda F, t: F.leaky_relu_(t.clone(), 0.2),
    "rrelu": lambda F, t: F.rrelu(t, 0.1, 0.3), "rrelu_": lambda F, t: F.rrelu_(t.clone()),
}


@pytest.mark.parametrize("name", sorted(_ACTIVATIONS))
def test_activation_nodes_gradcheck_and_gradgradcheck(name):
    """The activations' own nodes: first and second derivatives in float64, numerically."""
    f = _ACTIVATIONS[name]
    x = ember.tensor([[0.7, -1.3, 2.1], [-0.4, 0.9, -2.6]], dtype=ember.float64,
                     requires_grad=True)
    F = ember.nn.functional
    assert ember.autograd.gradcheck(lambda t: f(F, t), (x,))
    assert ember.autograd.gradgradcheck(lambda t: f(F, t), (x,))


@pytest.mark.parametrize("name", sorted(_ACTIVATIONS))
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_activation_nodes_values_and_derivatives_as_torch(name, dtype):
    """Values, gradients and second derivatives (create_graph) as torch's, zeros and NaN
    included (their branch is PyTorch's); float16/bfloat16 compute in float32."""
    values = [-0.0, 0.0, float("nan"), -1.0, 2.0, -30.0, 30.0]

    def run(lib):
        F = lib.nn.functional
        x = lib.tensor(values, dtype=getattr(lib, dtype), requires_grad=True)
        y = _ACTIVATIONS[name](F, x)
        g, = lib.autograd.grad(y.sum(), x, create_graph=True)
        out = [y.detach().float().numpy(), g.detach().float().numpy()]
        if g.requires_grad and name.startswith(("elu", "selu", "celu")):
            h, = lib.autograd.grad((g * lib.arange(1.0, 8.0, dtype=x.dtype)).sum(), x)
            out.append(h.float().numpy())
        return out
    # (PyTorch's double backward rounds to the half type after each of its ops)
    tolerances = [1e-6, 1e-6, 1e-6 if dtype == "float32" else 1e-2]
    for a, b, rtol in zip(run(ember), run(torch), tolerances):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=0)


def test_inplace_leaky_relu_with_negative_slope_refuses_backward():
    msgs = []
    for lib in (ember, torch):
        x = lib.tensor([1.0, -2.0], requires_grad=True)
        y = lib.nn.functional.leaky_relu_(x.clone(), -0.5)
        with pytest.raises(RuntimeError, match="In-place leakyReLu backward") as info:
            y.sum().backward()
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


def _graph(fn, depth=4):
    """(name, edges below) of node `fn`, `depth` levels down; None for a missing edge."""
    if fn is None:
        return None
    below = [(_graph(f, depth - 1), nr) for f, nr in fn.next_functions] if depth else []
    return (fn.name(), below)


def _graph_cases(lib):
    F = lib.nn.functional
    gen = np.random.default_rng(0)
    made = []   # the leaves, kept alive while the cases are (ember's AccumulateGrad holds
    # its variable weakly)

    def t(*shape, grad=True, dtype="float64"):
        data = gen.standard_normal(shape)
        made.append(lib.tensor(data, dtype=getattr(lib, dtype), requires_grad=grad))
        return made[-1]

    up = F.interpolate
    return {
        "interpolate_linear": lambda: up(t(2, 3, 5), scale_factor=2, mode="linear"),
        "interpolate_bilinear": lambda: up(t(1, 2, 3, 4), size=(5, 3), mode="bilinear"),
        "interpolate_bilinear_corners": lambda: up(t(1, 2, 3, 4), scale_factor=1.5,
                                                   mode="bilinear", align_corners=True),
        "interpolate_bilinear_aa": lambda: up(t(1, 2, 6, 5), size=(3, 2), mode="bilinear",
                                              antialias=True),
        "interpolate_bicubic": lambda: up(t(1, 1, 4, 4), size=(6, 5), mode="bicubic"),
        "interpolate_trilinear": lambda: up(t(1, 1, 2, 3, 2), scale_factor=2, mode="trilinear"),
        "interpolate_nearest2d": lambda: up(t(1, 2, 3, 3), scale_factor=2),
        "interpolate_nearest_exact3d": lambda: up(t(1, 1, 2, 3, 2), size=(3, 2, 4),
                                                  mode="nearest-exact"),
        "interpolate_bilinear_half": lambda: up(t(1, 2, 3, 4, dtype="float16"), size=(5, 3),
                                                mode="bilinear"),
        "upsample_bilinear": lambda: F.upsample_bilinear(t(1, 2, 3, 3), scale_factor=2),
        # linear of a non-2-D input: its GEMM node between views, or the product plus the
        # bias (the weight's edge is checked without PyTorch's TBackward0 above it, below)
        "linear_3d_bias": lambda: F.linear(t(2, 3, 4), t(5, 4, grad=False), t(5)),
        "linear_4d_bias": lambda: F.linear(t(2, 2, 3, 4), t(5, 4, grad=False), t(5)),
        "linear_3d": lambda: F.linear(t(2, 3, 4), t(5, 4, grad=False)),
        "linear_1d": lambda: F.linear(t(4), t(5, 4, grad=False)),
        "linear_1d_bias": lambda: F.linear(t(4), t(5, 4, grad=False), t(5)),
        "linear_3d_input_only": lambda: F.linear(t(2, 3, 4), t(5, 4, grad=False),
                                                 t(5, grad=False)),
        # one node where a composite stood (ember/_ops/_composite_node.py)
        "dist": lambda: lib.dist(t(3, 4), t(4), 3.5), "dist_one_side": lambda: lib.dist(
            t(3, 4), t(4, grad=False)),
        "householder_product": lambda: lib.linalg.householder_product(t(2, 4, 3), t(2, 3)),
        "ormqr": lambda: lib.ormqr(t(4, 3), t(3), t(4, 2)),
        "ormqr_right_transposed": lambda: lib.ormqr(t(4, 3), t(3, grad=False), t(2, 4),
                                                    left=False, transpose=True),
    }


GRAPH_CASES = sorted(_graph_cases(ember))


@pytest.mark.filterwarnings("ignore:`nn.functional.upsample_bilinear` is deprecated")
@pytest.mark.parametrize("case", GRAPH_CASES)
def test_graph_and_gradients_as_torch(case):
    """Ops with a node of their own where a composite stood: the graph below the output
    (names and edges) is PyTorch's, and so are the gradients of every leaf."""
    t_cases, e_cases = _graph_cases(torch), _graph_cases(ember)
    t_out, e_out = t_cases[case](), e_cases[case]()
    assert _graph(e_out.grad_fn) == _graph(t_out.grad_fn)

    def grads(out, lib):
        leaves = [n.variable for n in _leaves(out.grad_fn)]
        weight = lib.tensor(np.cos(np.arange(out.numel())).reshape(out.shape), dtype=out.dtype)
        return [g.detach().double().numpy() for g in lib.autograd.grad(out, leaves, weight)]
    half = t_out.dtype in (torch.float16, torch.bfloat16)
    for a, b in zip(grads(e_out, ember), grads(t_out, torch)):
        np.testing.assert_allclose(a, b, rtol=1e-2 if half else 1e-10, atol=1e-3 if half else 1e-12)


def test_linear_weight_gradient_through_the_reshaped_graph():
    """The weight's gradient of a 3-d linear (its edge: the weight itself in ember, W^T's
    TBackward0 in PyTorch) equals torch's."""
    def grads(lib):
        gen = np.random.default_rng(1)
        x = lib.tensor(gen.standard_normal((2, 3, 4)), requires_grad=True)
        w = lib.tensor(gen.standard_normal((5, 4)), requires_grad=True)
        b = lib.tensor(gen.standard_normal(5), requires_grad=True)
        y = lib.nn.functional.linear(x, w, b)
        assert y.grad_fn.name() == "ViewBackward0"
        return [g.numpy() for g in lib.autograd.grad((y * y).sum(), (x, w, b))]
    for a, b in zip(grads(ember), grads(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_composite_nodes_second_derivatives_as_torch():
    """dist, householder_product and ormqr recompute their composite in backward: double
    backward (the same tensor given twice included) equals torch's."""
    def run(lib):
        gen = np.random.default_rng(3)
        A = lib.tensor(gen.standard_normal((2, 4, 3)), requires_grad=True)
        tau = lib.tensor(gen.standard_normal((2, 3)), requires_grad=True)
        C = lib.tensor(gen.standard_normal((2, 4, 2)), requires_grad=True)
        y = (lib.linalg.householder_product(A, tau) ** 2).sum() + \
            (lib.ormqr(A, tau, C, True, True) ** 3).sum() + lib.dist(A * 2, A, 3.0)
        gs = lib.autograd.grad(y, (A, tau, C), create_graph=True)
        hs = lib.autograd.grad(sum((g * g).sum() for g in gs), (A, tau, C))
        return [g.detach().numpy() for g in gs] + [h.numpy() for h in hs]
    for a, b in zip(run(ember), run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


def test_composite_nodes_gradgradcheck():
    gen = np.random.default_rng(4)
    A = ember.tensor(gen.standard_normal((4, 3)), requires_grad=True)
    tau = ember.tensor(gen.standard_normal(3), requires_grad=True)
    C = ember.tensor(gen.standard_normal((2, 4)), requires_grad=True)
    b = ember.tensor(gen.standard_normal(3), requires_grad=True)
    for fn, args in [(lambda a, t: ember.linalg.householder_product(a, t), (A, tau)),
                     (lambda a, t, c: ember.ormqr(a, t, c, left=False), (A, tau, C)),
                     (lambda a, c: ember.dist(a, c, 2.5), (A, b))]:
        assert ember.autograd.gradcheck(fn, args)
        assert ember.autograd.gradgradcheck(fn, args)


def _copy_slices_cases(lib):
    F = lib.nn.functional

    def base():
        leaf = lib.tensor(np.linspace(-1.5, 2.0, 6).reshape(2, 3), requires_grad=True)
        return leaf, leaf * 1

    w = lib.tensor([0.5, -2.0, 1.5], dtype=lib.float64, requires_grad=True)

    def run(write):
        leaf, a = base()
        write(a)
        return a, [leaf, w]

    def into_constant(write):
        a = lib.zeros(2, 3, dtype=lib.float64)
        write(a)
        return a, [w]
    return {
        "mul_number": lambda: run(lambda a: a[0].mul_(2)),
        "mul_tensor": lambda: run(lambda a: a[1].mul_(w)),
        "add_alpha": lambda: run(lambda a: a[0].add_(w, alpha=2)),
        "setitem": lambda: run(lambda a: a.__setitem__(0, w)),
        "exp_column": lambda: run(lambda a: a[:, 1].exp_()),
        "sigmoid_transposed": lambda: run(lambda a: a.t()[1:].sigmoid_()),
        "leaky_relu_row": lambda: run(lambda a: F.leaky_relu_(a[1], 0.1)),
        "slice_of_slice": lambda: run(lambda a: a[:, 1:][0].sub_(w[:2])),
        "into_constant": lambda: into_constant(lambda a: a.__setitem__(1, w * 3)),
        "twice": lambda: run(lambda a: (a[0].mul_(w), a[:, 2].add_(1.5))),
    }


@pytest.mark.parametrize("case", sorted(_copy_slices_cases(ember)))
def test_copy_slices_graph_and_gradients_as_torch(case):
    """An in-place op on a view: the base's CopySlices node holds the op's node (edges: the
    base's old history, then the op's other operands), as PyTorch's; first and second
    derivatives as torch's."""
    def run(lib):
        a, leaves = _copy_slices_cases(lib)[case]()
        graph = _graph(a.grad_fn, 3)
        loss = (a * a * a).sum()
        gs = lib.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
        hs = lib.autograd.grad(sum((g * g).sum() for g in gs if g is not None), leaves,
                               allow_unused=True)
        return graph, [None if g is None else g.detach().numpy() for g in gs] + \
            [None if h is None else h.numpy() for h in hs]
    (e_graph, e_vals), (t_graph, t_vals) = run(ember), run(torch)
    assert e_graph == t_graph
    for a, b in zip(e_vals, t_vals):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _forward_ad_cases(lib):
    F = lib.nn.functional
    return {
        "elu": (lambda x: F.elu(x, 0.7), (2, 3)),
        "celu": (lambda x: F.celu(x, 0.5), (2, 3)),
        "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), (2, 3)),
        "rrelu": (lambda x: F.rrelu(x), (2, 3)),
        "interpolate_bicubic": (lambda x: F.interpolate(x, size=(3, 5), mode="bicubic"),
                                (1, 2, 4, 3)),
        "linear_3d": (lambda x: F.linear(x, x[0, :, :2].t().contiguous() * 0 + 1.5), (2, 3, 3)),
        "dist": (lambda x: lib.dist(x, x.flip(0) * 2, 3.0), (2, 3)),
        "householder_product": (lambda x: lib.linalg.householder_product(x, x[:, 0]),
                                (3, 3)),
        "ormqr": (lambda x: lib.ormqr(x, x[:, 1], x * 2), (3, 3)),
    }


@pytest.mark.filterwarnings("ignore::DeprecationWarning")   # (torch's forward AD: jit.script)
@pytest.mark.parametrize("case", sorted(_forward_ad_cases(ember)))
def test_forward_ad_through_the_new_nodes(case):
    """Forward-mode AD (derived from the nodes' backward) gives torch's tangents."""
    def run(lib):
        fn, shape = _forward_ad_cases(lib)[case]
        gen = np.random.default_rng(5)
        x = lib.tensor(gen.standard_normal(shape))
        t = lib.tensor(gen.standard_normal(shape))
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            y = fn(fwad.make_dual(x, t))
            return fwad.unpack_dual(y).tangent.numpy()
    if case != "ormqr":
        np.testing.assert_allclose(run(ember), run(torch), rtol=1e-9, atol=1e-12)
        return
    # (PyTorch has no forward AD for ormqr: a central difference instead)
    fn, shape = _forward_ad_cases(ember)[case]
    gen = np.random.default_rng(5)
    x, t = gen.standard_normal(shape), gen.standard_normal(shape)
    eps = 1e-6
    diff = (fn(ember.tensor(x + eps * t)) - fn(ember.tensor(x - eps * t))).numpy() / (2 * eps)
    np.testing.assert_allclose(run(ember), diff, rtol=1e-6, atol=1e-8)


def test_copy_slices_frees_the_op_node_it_holds():
    """A second backward through a CopySlices without retain_graph raises as PyTorch's (the
    in-place op's node it holds frees its saved tensors with it); with retain_graph the
    gradients add up alike."""
    def run(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        a = b.detach() + 1
        a[0].mul_(w)
        loss = a.sum()
        loss.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            loss.backward()
        a = b + 1
        a[0].mul_(w)
        loss = a.sum()
        loss.backward(retain_graph=True)
        loss.backward()
        return b.grad.numpy(), w.grad.numpy()
    for x, y in zip(run(ember), run(torch)):
        np.testing.assert_array_equal(x, y)
