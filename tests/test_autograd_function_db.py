"""The custom autograd.Functions of torch's autograd_function_db
(torch/testing/_internal/autograd_function_db.py), ported and compared with torch.

Each example's logic is written once, against a library `L` (`functions(L)` builds the
classes for torch and for ember from the same source): NumPy-computed forwards, PyTorch 2
style setup_context, save_for_forward + jvp, mark_dirty, mark_non_differentiable,
once_differentiable, vmap staticmethods and generate_vmap_rule, default arguments.
Compared for every example: forward, backward (autograd.grad), double backward where the
example supports it, forward-mode AD (dual numbers) where it defines jvp, and the
ember.func transforms grad / vjp / jvp / vmap.
"""
import numpy as np
import pytest
import torch

import ember
from tests.oracle.harness import assert_same


def functions(L):
    """The autograd_function_db examples as classes of library `L` (torch or ember)."""

    def to_numpy(tensor):
        return tensor.detach().cpu().numpy()

    class NumpyCube(L.autograd.Function):
        @staticmethod
        def forward(input):
            input_np = to_numpy(input)
            dinput = L.tensor(3 * input_np ** 2, device=input.device)
            return L.tensor(input_np ** 3, device=input.device), dinput

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0], output[1])
            ctx.save_for_forward(inputs[0], output[1])

        @staticmethod
        def backward(ctx, grad_output, grad_saved):
            input, dinput = ctx.saved_tensors
            return NumpyMul.apply(grad_output, dinput) + 6 * NumpyMul.apply(grad_saved, input)

        @staticmethod
        def vmap(info, in_dims, input):
            result = NumpyCube.apply(input)
            return result, (in_dims[0], in_dims[0])

        @staticmethod
        def jvp(ctx, input_tangent):
            input, dinput = ctx.saved_tensors
            return NumpyMul.apply(input_tangent, dinput), 6 * NumpyMul.apply(input_tangent, input)

    class CubeGenVmap(L.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x):
            return x ** 3, 3 * x ** 2

        @staticmethod
        def setup_context(ctx, inputs, outputs):
            ctx.save_for_backward(inputs[0], outputs[1])
            ctx.save_for_forward(inputs[0], outputs[1])

        @staticmethod
        def backward(ctx, grad_output, grad_saved):
            _input, dinput = ctx.saved_tensors
            return grad_output * dinput + 6 * dinput

        @staticmethod
        def jvp(ctx, input_tangent):
            input, dinput = ctx.saved_tensors
            return (MulGenVmap.apply(input_tangent, dinput),
                    6 * NumpyMul.apply(input_tangent, input))

    class NumpyCubeNotComposable(L.autograd.Function):
        @staticmethod
        def forward(input):
            input_np = to_numpy(input)
            return L.tensor(input_np ** 3, device=input.device), input_np

        @staticmethod
        def setup_context(ctx, inputs, output):
            _, input_np = output
            ctx.input_np = input_np
            ctx.device = inputs[0].device

        @staticmethod
        @L.autograd.function.once_differentiable
        def backward(ctx, grad_output, grad_saved):
            result_np = 3 * (ctx.input_np ** 2)
            return L.tensor(result_np, device=ctx.device)

    class NumpyMul(L.autograd.Function):
        @staticmethod
        def forward(x, y):
            return L.tensor(to_numpy(x) * to_numpy(y), device=x.device)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs)
            ctx.save_for_forward(*inputs)

        @staticmethod
        def backward(ctx, grad_output):
            x, y = ctx.saved_tensors
            gx = NumpyMul.apply(grad_output, y) if ctx.needs_input_grad[0] else None
            gy = NumpyMul.apply(grad_output, x) if ctx.needs_input_grad[1] else None
            return gx, gy

        @staticmethod
        def vmap(info, in_dims, x, y):
            x_bdim, y_bdim = in_dims
            x = x.movedim(x_bdim, -1) if x_bdim is not None else x.unsqueeze(-1)
            y = y.movedim(y_bdim, -1) if y_bdim is not None else y.unsqueeze(-1)
            return NumpyMul.apply(x, y).movedim(-1, 0), 0

        @staticmethod
        def jvp(ctx, x_tangent, y_tangent):
            x, y = ctx.saved_tensors
            return x_tangent * y + y_tangent * x

    class MulGenVmap(L.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x, y):
            return x * y

        @staticmethod
        def setup_context(ctx, inputs, outputs):
            ctx.save_for_backward(*inputs)
            ctx.save_for_forward(*inputs)

        @staticmethod
        def backward(ctx, grad_output):
            x, y = ctx.saved_tensors
            gx = MulGenVmap.apply(grad_output, y) if ctx.needs_input_grad[0] else None
            gy = MulGenVmap.apply(grad_output, x) if ctx.needs_input_grad[1] else None
            return gx, gy

        @staticmethod
        def jvp(ctx, x_tangent, y_tangent):
            x, y = ctx.saved_tensors
            return x_tangent * y + y_tangent * x

    class NumpyExp_(L.autograd.Function):
        @staticmethod
        def forward(x):
            x_np = x.detach().numpy()   # shares memory with x: exp is written into x
            np.exp(x_np, x_np)
            return x

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, = inputs
            ctx.mark_dirty(x)
            ctx.save_for_backward(output)
            ctx.save_for_forward(output)

        @staticmethod
        def backward(ctx, grad_output):
            output, = ctx.saved_tensors
            return NumpyMul.apply(grad_output, output)

        @staticmethod
        def vmap(info, in_dims, x):
            NumpyExp_.apply(x)
            return x, in_dims[0]

        @staticmethod
        def jvp(ctx, x_tangent):
            output, = ctx.saved_tensors
            x_tangent.mul_(output)
            return x_tangent

    class NumpySort(L.autograd.Function):
        @staticmethod
        def forward(x, dim):
            device = x.device
            x = to_numpy(x)
            ind = np.argsort(x, axis=dim)
            ind_inv = np.argsort(ind, axis=dim)
            return (L.tensor(x, device=device), L.tensor(ind, device=device),
                    L.tensor(ind_inv, device=device))

        @staticmethod
        def setup_context(ctx, inputs, output):
            _x, dim = inputs
            _, ind, ind_inv = output
            ctx.mark_non_differentiable(ind, ind_inv)
            ctx.save_for_backward(ind, ind_inv)
            ctx.save_for_forward(ind, ind_inv)
            ctx.dim = dim

        @staticmethod
        def backward(ctx, grad_output, _0, _1):
            ind, ind_inv = ctx.saved_tensors
            return NumpyTake.apply(grad_output, ind_inv, ind, ctx.dim), None

        @staticmethod
        def vmap(info, in_dims, x, dim):
            x_bdim, _ = in_dims
            x = x.movedim(x_bdim, 0)
            dim = dim if dim >= 0 else dim + x.dim() - 1
            return NumpySort.apply(x, dim + 1), (0, 0, 0)

        @staticmethod
        def jvp(ctx, x_tangent, _):
            ind, ind_inv = ctx.saved_tensors
            return NumpyTake.apply(x_tangent, ind, ind_inv, ctx.dim), None, None

    class SortGenVmap(L.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x, dim):
            ind = L.argsort(x, dim=dim)
            # torch's db writes axis=dim: PyTorch takes NumPy's keyword names (axis, keepdims)
            # for dim/keepdim everywhere, ember does not (reported)
            ind_inv = L.argsort(ind, dim=dim)
            result = L.take_along_dim(x, ind, dim=dim)
            return result, ind, ind_inv

        @staticmethod
        def setup_context(ctx, inputs, outputs):
            x, dim = inputs
            _, ind, ind_inv = outputs
            ctx.mark_non_differentiable(ind, ind_inv)
            ctx.save_for_backward(ind, ind_inv)
            ctx.save_for_forward(ind, ind_inv)
            ctx.dim = dim

        @staticmethod
        def backward(ctx, grad_output, _0, _1):
            ind, ind_inv = ctx.saved_tensors
            return TakeGenVmap.apply(grad_output, ind_inv, ind, ctx.dim), None

        @staticmethod
        def jvp(ctx, x_tangent, _):
            ind, ind_inv = ctx.saved_tensors
            return TakeGenVmap.apply(x_tangent, ind, ind_inv, ctx.dim), None, None

    class NumpyTake(L.autograd.Function):
        @staticmethod
        def forward(x, ind, ind_inv, dim):
            device = x.device
            return L.tensor(np.take_along_axis(to_numpy(x), to_numpy(ind), dim), device=device)

        @staticmethod
        def setup_context(ctx, inputs, output):
            _x, ind, ind_inv, dim = inputs
            ctx.save_for_backward(ind, ind_inv)
            ctx.save_for_forward(ind, ind_inv)
            ctx.dim = dim

        @staticmethod
        def backward(ctx, grad_output):
            ind, ind_inv = ctx.saved_tensors
            return NumpyTake.apply(grad_output, ind_inv, ind, ctx.dim), None, None, None

        @staticmethod
        def vmap(info, in_dims, x, ind, ind_inv, dim):
            x_bdim, ind_bdim, ind_inv_bdim, _ = in_dims
            logical_dim = x.dim() if x_bdim is None else x_bdim - 1
            dim = dim if dim >= 0 else dim + logical_dim

            def expand_bdim(x, x_bdim):
                if x_bdim is None:
                    return x.expand(info.batch_size, *x.shape)
                return x.movedim(x_bdim, 0)

            x = expand_bdim(x, x_bdim)
            ind = expand_bdim(ind, ind_bdim)
            ind_inv = expand_bdim(ind_inv, ind_inv_bdim)
            return NumpyTake.apply(x, ind, ind_inv, dim + 1), 0

        @staticmethod
        def jvp(ctx, x_tangent, ind_tangent, ind_inv_tangent, _):
            assert ind_tangent is None and ind_inv_tangent is None
            ind, ind_inv = ctx.saved_tensors
            return NumpyTake.apply(x_tangent, ind, ind_inv, ctx.dim)

    class TakeGenVmap(L.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x, ind, ind_inv, dim):
            return L.take_along_dim(x, ind, dim)

        @staticmethod
        def setup_context(ctx, inputs, outputs):
            _x, ind, ind_inv, dim = inputs
            ctx.save_for_backward(ind, ind_inv)
            ctx.save_for_forward(ind, ind_inv)
            ctx.dim = dim

        @staticmethod
        def backward(ctx, grad_output):
            ind, ind_inv = ctx.saved_tensors
            return TakeGenVmap.apply(grad_output, ind_inv, ind, ctx.dim), None, None, None

        @staticmethod
        def jvp(ctx, x_tangent, ind_tangent, ind_inv_tangent, _):
            ind, ind_inv = ctx.saved_tensors
            return TakeGenVmap.apply(x_tangent, ind, ind_inv, ctx.dim)

    class Select(L.autograd.Function):
        @staticmethod
        def forward(x, idx):
            return x[idx]

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, idx = inputs
            ctx.x_shape = x.shape
            ctx.idx = idx

        @staticmethod
        def backward(ctx, grad_output):
            result = grad_output.new_zeros(ctx.x_shape)
            result[ctx.idx] = grad_output
            return result, None

        @staticmethod
        def vmap(info, in_dims, x, idx):
            x_bdim, _ = in_dims
            x = x.movedim(x_bdim, 1)
            return Select.apply(x, idx), 0

        @staticmethod
        def jvp(ctx, x_tangent, _):
            return Select.apply(x_tangent, ctx.idx)

    class SelectGenVmap(L.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x, idx):
            return x[idx]

        @staticmethod
        def setup_context(ctx, inputs, outputs):
            x, idx = inputs
            ctx.x_shape = x.shape
            ctx.idx = idx

        @staticmethod
        def backward(ctx, grad_output):
            result = grad_output.new_zeros(ctx.x_shape)
            result[ctx.idx] = grad_output
            return result, None

        @staticmethod
        def jvp(ctx, x_tangent, _):
            return SelectGenVmap.apply(x_tangent, ctx.idx)

    class ScaleGradGenVmap(L.autograd.Function):
        generate_vmap_rule = True
        scale = 3.14

        @staticmethod
        def forward(x):
            return x.clone()

        @staticmethod
        def setup_context(ctx, inputs, outputs):
            pass

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ScaleGradGenVmap.scale

        @staticmethod
        def jvp(ctx, x_tangent):
            return x_tangent * ScaleGradGenVmap.scale

    class ZeroGradientsGenVmap(L.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x, y):
            return x.clone(), y.clone()

        @staticmethod
        def setup_context(ctx, inputs, outputs):
            pass

        @staticmethod
        def backward(ctx, gx, gy):
            # intentionally zeros of a too-large shape for x (not None): reduced to x's shape
            return (L.zeros(3, 4, *gx.shape, dtype=gx.dtype, device=gx.device),
                    L.zeros(gy.shape, dtype=gy.dtype, device=gy.device))

        @staticmethod
        def jvp(ctx, gx, gy):
            return (L.zeros(gx.shape, dtype=gx.dtype, device=gx.device),
                    L.zeros(gy.shape, dtype=gy.dtype, device=gy.device))

    class ForwardHasDefaultArgs(L.autograd.Function):
        @staticmethod
        def forward(x, idx=(2,)):
            return x[idx]

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, idx = inputs
            ctx.x_shape = x.shape
            ctx.idx = idx

        @staticmethod
        def backward(ctx, grad_output):
            result = grad_output.new_zeros(ctx.x_shape)
            result[ctx.idx] = grad_output
            return result, None

        @staticmethod
        def vmap(info, in_dims, x, idx):
            x_bdim, _ = in_dims
            x = x.movedim(x_bdim, 1)
            return ForwardHasDefaultArgs.apply(x, idx), 0

        @staticmethod
        def jvp(ctx, x_tangent, _):
            return ForwardHasDefaultArgs.apply(x_tangent, ctx.idx)

    return {k: v for k, v in locals().items() if isinstance(v, type)}


FN = {"torch": functions(torch), "ember": functions(ember)}

rng = np.random.default_rng(0)


def _u(*shape, low=-9.0, high=9.0):
    return rng.uniform(low, high, shape)


def _sort_input():
    return _u(3, 5)


def _take_args(L, x):
    _, ind, ind_inv = FN[L.__name__]["NumpySort"].apply(x, 1)
    return (ind, ind_inv, 1)


# (name, op(L, *tensors, *extra), float64 inputs, extra(L, *tensors) -> non-tensor/index
#  args, forward AD, double backward): the autograd_function_db OpInfos and their samples
EXAMPLES = [
    ("NumpyCube", lambda L, x: FN[L.__name__]["NumpyCube"].apply(x),
     [_u(1, low=0.8, high=2)], None, True, True),
    ("NumpyExpMarkDirty", lambda L, x: FN[L.__name__]["NumpyExp_"].apply(x.clone()),
     [_u(1, low=0.8, high=2)], None, True, True),
    ("NumpyMul", lambda L, x, y: FN[L.__name__]["NumpyMul"].apply(x, y),
     [_u(4, low=0.9, high=2), _u(3, 4, low=0.9, high=2)], None, True, True),
    ("NumpyCubeNotComposable", lambda L, x: FN[L.__name__]["NumpyCubeNotComposable"].apply(x)[0],
     [_u(1, low=0.8, high=2)], None, False, False),
    ("NumpySort", lambda L, x: FN[L.__name__]["NumpySort"].apply(x, 1), [_sort_input()], None,
     False, False),
    ("NumpyTake", lambda L, x, ind, ind_inv, dim: FN[L.__name__]["NumpyTake"].apply(
        x, ind, ind_inv, dim), [_sort_input()], _take_args, False, False),
    ("Select", lambda L, x: FN[L.__name__]["Select"].apply(x, 2), [_u(3, 5)], None, True, True),
    ("CubeGenVmap", lambda L, x: FN[L.__name__]["CubeGenVmap"].apply(x),
     [_u(1, low=0.8, high=2)], None, True, True),
    ("MulGenVmap", lambda L, x, y: FN[L.__name__]["MulGenVmap"].apply(x, y),
     [_u(4, low=0.9, high=2), _u(3, 4, low=0.9, high=2)], None, True, True),
    ("SortGenVmap", lambda L, x: FN[L.__name__]["SortGenVmap"].apply(x, 1), [_sort_input()],
     None, True, True),
    ("SelectGenVmap", lambda L, x: FN[L.__name__]["SelectGenVmap"].apply(x, 2), [_u(3, 5)],
     None, True, True),
    ("ScaleGradGenVmap", lambda L, x: FN[L.__name__]["ScaleGradGenVmap"].apply(x),
     [_u(1, low=0.8, high=2)], None, True, True),
    ("ZeroGradientsGenVmap", lambda L, x, y: FN[L.__name__]["ZeroGradientsGenVmap"].apply(x, y),
     [_u(4, low=0.9, high=2), _u(3, 4, low=0.9, high=2)], None, True, True),
    ("ForwardHasDefaultArgs", lambda L, x: FN[L.__name__]["ForwardHasDefaultArgs"].apply(x),
     [_u(3, 5)], None, True, True),
]
IDS = [e[0] for e in EXAMPLES]


def _leaves(L, arrays):
    return [L.tensor(a, requires_grad=True) for a in arrays]


def _run(L, op, xs, extra):
    args = extra(L, *[x.detach() for x in xs]) if extra is not None else ()
    return op(L, *xs, *args)


def _flat(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _differentiable(outs):
    return [o for o in outs if o.requires_grad]


def _weights(outs):
    g = np.random.default_rng(1)
    return [g.standard_normal(tuple(o.shape)) for o in outs]


def _same(e, t, what):
    assert_same(e, t, rtol=1e-7, atol=1e-9, what=what)


@pytest.mark.parametrize("name,op,inputs,extra,fwd_ad,double", EXAMPLES, ids=IDS)
def test_forward_and_backward(name, op, inputs, extra, fwd_ad, double):
    res = {}
    for L in (torch, ember):
        xs = _leaves(L, inputs)
        outs = _flat(_run(L, op, xs, extra))
        diff = _differentiable(outs)
        loss = sum((o * L.tensor(w)).sum() for o, w in zip(diff, _weights(diff)))
        grads = L.autograd.grad(loss, xs, create_graph=double, allow_unused=True)
        second = None
        if double:
            used = [g for g in grads if g is not None and g.requires_grad]
            if used:
                s = sum((g * g).sum() for g in used)
                second = L.autograd.grad(s, xs, allow_unused=True)
        res[L.__name__] = ([o.requires_grad for o in outs], outs, grads, second)
    t, e = res["torch"], res["ember"]
    assert e[0] == t[0], "which outputs require grad"
    for i, (a, b) in enumerate(zip(e[1], t[1])):
        _same(a.detach(), b.detach(), f"output {i}")
    for i, (a, b) in enumerate(zip(e[2], t[2])):
        assert (a is None) == (b is None), f"grad {i}: None in one library only"
        if b is not None:
            _same(a.detach(), b.detach(), f"grad {i}")
    assert (e[3] is None) == (t[3] is None)
    if t[3] is not None:
        for i, (a, b) in enumerate(zip(e[3], t[3])):
            assert (a is None) == (b is None), f"second grad {i}: None in one library only"
            if b is not None:
                _same(a, b, f"second-order grad {i}")


@pytest.mark.parametrize("name,op,inputs,extra,fwd_ad,double",
                         [e for e in EXAMPLES if e[4]], ids=[e[0] for e in EXAMPLES if e[4]])
def test_forward_ad(name, op, inputs, extra, fwd_ad, double):
    """Forward-mode AD through the Function's jvp staticmethod (dual numbers)."""
    tangents = [np.random.default_rng(2).standard_normal(a.shape) for a in inputs]
    res = {}
    for L in (torch, ember):
        fwAD = L.autograd.forward_ad
        with fwAD.dual_level():
            xs = [fwAD.make_dual(L.tensor(a), L.tensor(t)) for a, t in zip(inputs, tangents)]
            outs = _flat(_run(L, op, xs, extra))
            res[L.__name__] = [(fwAD.unpack_dual(o).primal, fwAD.unpack_dual(o).tangent)
                               for o in outs]
    for i, ((ep, et), (tp, tt)) in enumerate(zip(res["ember"], res["torch"])):
        _same(ep, tp, f"primal {i}")
        assert (et is None) == (tt is None), f"tangent {i}: None in one library only"
        if tt is not None:
            _same(et, tt, f"tangent {i}")


def _first(L, op, extra):
    """A function of the example's tensor inputs returning its first output (the one the
    transforms differentiate)."""
    def f(*xs):
        return _flat(_run(L, op, xs, extra))[0]
    return f


COMPOSABLE = [e for e in EXAMPLES if e[0] != "NumpyCubeNotComposable"]


@pytest.mark.parametrize("name,op,inputs,extra,fwd_ad,double", COMPOSABLE,
                         ids=[e[0] for e in COMPOSABLE])
def test_func_grad_and_vjp(name, op, inputs, extra, fwd_ad, double):
    res = {}
    for L in (torch, ember):
        xs = [L.tensor(a) for a in inputs]
        f = _first(L, op, extra)
        out, pullback = L.func.vjp(f, *xs)
        ct = L.tensor(np.random.default_rng(3).standard_normal(tuple(out.shape)))
        cot = pullback(ct)
        g = L.func.grad(lambda *a: (f(*a) * ct).sum(), argnums=tuple(range(len(xs))))(*xs)
        res[L.__name__] = (out, cot, g)
    for what, e, t in zip(("vjp output", "vjp cotangents", "grad"), res["ember"], res["torch"]):
        for i, (a, b) in enumerate(zip(_flat(e), _flat(t))):
            _same(a, b, f"{what} {i}")


@pytest.mark.parametrize("name,op,inputs,extra,fwd_ad,double",
                         [e for e in COMPOSABLE if e[4]], ids=[e[0] for e in COMPOSABLE if e[4]])
def test_func_jvp(name, op, inputs, extra, fwd_ad, double):
    res = {}
    for L in (torch, ember):
        xs = tuple(L.tensor(a) for a in inputs)
        ts = tuple(L.tensor(np.random.default_rng(4).standard_normal(a.shape)) for a in inputs)
        res[L.__name__] = L.func.jvp(_first(L, op, extra), xs, ts)
    for i, (a, b) in enumerate(zip(res["ember"], res["torch"])):
        _same(a, b, f"jvp {'output' if i == 0 else 'tangent'}")


# (name, function of (L, batched input), batched float64 input): vmap over a leading dim
VMAP = [
    ("NumpyCube", lambda L, x: FN[L.__name__]["NumpyCube"].apply(x)[0], _u(3, 2)),
    ("CubeGenVmap", lambda L, x: FN[L.__name__]["CubeGenVmap"].apply(x)[1], _u(3, 2)),
    ("NumpyMul", lambda L, x: FN[L.__name__]["NumpyMul"].apply(x, x + 1), _u(3, 4)),
    ("MulGenVmap", lambda L, x: FN[L.__name__]["MulGenVmap"].apply(x, x), _u(3, 4)),
    ("NumpySort", lambda L, x: FN[L.__name__]["NumpySort"].apply(x, 0)[0], _u(2, 5)),
    ("SortGenVmap", lambda L, x: FN[L.__name__]["SortGenVmap"].apply(x, -1)[2], _u(2, 5)),
    ("Select", lambda L, x: FN[L.__name__]["Select"].apply(x, 1), _u(2, 3)),
    ("SelectGenVmap", lambda L, x: FN[L.__name__]["SelectGenVmap"].apply(x, 1), _u(2, 3)),
    ("ScaleGradGenVmap", lambda L, x: FN[L.__name__]["ScaleGradGenVmap"].apply(x), _u(2, 3)),
    ("ForwardHasDefaultArgs",
     lambda L, x: FN[L.__name__]["ForwardHasDefaultArgs"].apply(x, (1,)), _u(2, 3, 4)),
]


@pytest.mark.parametrize("name,fn,x", VMAP, ids=[v[0] for v in VMAP])
def test_vmap(name, fn, x):
    out = {L.__name__: L.func.vmap(lambda a, L=L: fn(L, a))(L.tensor(x)) for L in (torch, ember)}
    _same(out["ember"], out["torch"], "vmap output")


@pytest.mark.parametrize("name,fn,x", [v for v in VMAP if v[0] in ("NumpyMul", "CubeGenVmap")],
                         ids=["NumpyMul", "CubeGenVmap"])
def test_vmap_of_grad(name, fn, x):
    """Per-sample gradients: vmap(grad(f)) through the Function's backward."""
    out = {}
    for L in (torch, ember):
        g = L.func.grad(lambda a, L=L: fn(L, a).sum())
        out[L.__name__] = L.func.vmap(g)(L.tensor(x))
    _same(out["ember"], out["torch"], "vmap(grad)")


def test_vmap_without_rule_raises():
    """A Function with neither a vmap staticmethod nor generate_vmap_rule cannot be vmapped
    (PyTorch's RuntimeError)."""
    for L in (torch, ember):
        class NoRule(L.autograd.Function):
            @staticmethod
            def forward(x):
                return x * 2

            @staticmethod
            def setup_context(ctx, inputs, output):
                pass

            @staticmethod
            def backward(ctx, g):
                return g * 2
        with pytest.raises(RuntimeError, match="vmap"):
            L.func.vmap(NoRule.apply)(L.ones(2, 3))


def test_not_composable_refuses_double_backward():
    """once_differentiable: the gradient has no graph, so a second backward raises."""
    for L in (torch, ember):
        x = L.tensor([1.5], dtype=L.float64, requires_grad=True)
        y = FN[L.__name__]["NumpyCubeNotComposable"].apply(x)[0]
        (g,) = L.autograd.grad(y.sum(), x, create_graph=True)
        assert float(g) == pytest.approx(3 * 1.5 ** 2)
        with pytest.raises(RuntimeError):
            L.autograd.grad(g.sum(), x)


def test_mark_dirty_in_place_on_a_leaf_raises():
    """NumpyExp_'s in-place variant on a leaf that requires grad raises, as in PyTorch."""
    for L in (torch, ember):
        x = L.tensor([1.0], dtype=L.float64, requires_grad=True)
        with pytest.raises(RuntimeError):
            FN[L.__name__]["NumpyExp_"].apply(x)


def test_both_vmap_rules_raises():
    """generate_vmap_rule=True together with a vmap staticmethod: PyTorch refuses under vmap."""
    for L in (torch, ember):
        class Both(L.autograd.Function):
            generate_vmap_rule = True

            @staticmethod
            def forward(x):
                return x * 2

            @staticmethod
            def setup_context(ctx, inputs, output):
                pass

            @staticmethod
            def backward(ctx, g):
                return g * 2

            @staticmethod
            def vmap(info, in_dims, x):
                return Both.apply(x), in_dims[0]
        with pytest.raises(RuntimeError, match="both"):
            L.func.vmap(Both.apply)(L.ones(2, 3))
        assert Both.apply(L.ones(2)).tolist() == [2.0, 2.0]   # outside vmap: fine


@pytest.mark.parametrize("transform", ["grad", "vjp", "jvp", "vmap", "jacrev", "jacfwd"])
def test_old_style_function_under_transforms_raises(transform):
    """A Function whose forward takes ctx (no setup_context) is refused by every torch.func
    transform, and still works in plain autograd."""
    for L in (torch, ember):
        class Old(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

            @staticmethod
            def jvp(ctx, t):
                return t * 2
        x = L.ones(3)
        call = {"grad": lambda: L.func.grad(lambda a: Old.apply(a).sum())(x),
                "vjp": lambda: L.func.vjp(Old.apply, x),
                "jvp": lambda: L.func.jvp(Old.apply, (x,), (x,)),
                "vmap": lambda: L.func.vmap(Old.apply)(L.ones(2, 3)),
                "jacrev": lambda: L.func.jacrev(Old.apply)(x),
                "jacfwd": lambda: L.func.jacfwd(Old.apply)(x)}[transform]
        with pytest.raises(RuntimeError, match="setup_context"):
            call()
        y = Old.apply(L.ones(3, requires_grad=True))
        assert y.grad_fn is not None
