"""F.linear's graph reaches the weight through a TBackward0 node, as PyTorch's
addmm(b, x, W.t()) / mm(x, W.t()): the graph below the output, walked by next_functions,
matches torch's for 1-D, 2-D and 3-D inputs with and without bias; gradients (first and
second order) and a module's deprecated backward hook (which sees W^T's gradient) match
torch's; and the weight's gradient is taken as .grad without a copy."""
import warnings

import numpy as np
import pytest

import ember
from ember.autograd import engine

torch = pytest.importorskip("torch")


def _walk(node, depth=0):
    if node is None:
        return None
    if depth > 4:
        return "..."
    return (node.name(), tuple(_walk(f, depth + 1) for f, _ in node.next_functions))


def _inputs(lib):
    W = lib.tensor(np.arange(6.0).reshape(2, 3) / 5, requires_grad=True)
    b = lib.tensor([0.5, -1.0], dtype=lib.float64, requires_grad=True)
    x = lib.tensor(np.arange(12.0).reshape(4, 3) / 7 - 0.5, requires_grad=True)
    return W, b, x


CASES = {
    "2d_bias": lambda F, W, b, x: F.linear(x, W, b),
    "2d": lambda F, W, b, x: F.linear(x, W),
    "3d_bias": lambda F, W, b, x: F.linear(x.view(2, 2, 3), W, b),
    "3d": lambda F, W, b, x: F.linear(x.view(2, 2, 3), W),
    "3d_noncontig_bias": lambda F, W, b, x: F.linear(x.view(2, 2, 3).transpose(0, 1), W, b),
    "1d_bias": lambda F, W, b, x: F.linear(x[1], W, b),
    "1d": lambda F, W, b, x: F.linear(x[1], W),
    "weight_no_grad": lambda F, W, b, x: F.linear(x, W.detach(), b),
    "weight_non_leaf": lambda F, W, b, x: F.linear(x, W * 2, b),
}


# (a non-contiguous 3-D input: torch reshapes it through CloneBackward0, ember's reshape
# records no clone node; that is reshape's graph, not linear's)
@pytest.mark.parametrize("case", sorted(set(CASES) - {"3d_noncontig_bias"}))
def test_graph_matches_torch(case):
    def run(lib):
        W, b, x = _inputs(lib)
        return _walk(CASES[case](lib.nn.functional, W, b, x).grad_fn)
    assert run(ember) == run(torch)


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_match_torch(case):
    def run(lib):
        W, b, x = _inputs(lib)
        y = CASES[case](lib.nn.functional, W, b, x)
        (y * y).sum().backward()
        first = [t.grad.numpy().copy() if t.grad is not None else None for t in (W, b, x)]
        if case == "weight_no_grad":
            return first, []
        W2, b2, x2 = _inputs(lib)
        y = CASES[case](lib.nn.functional, W2, b2, x2)
        gW, = lib.autograd.grad((y * y).sum(), W2, create_graph=True)
        second = lib.autograd.grad((gW * gW).sum(), (W2, x2), allow_unused=True)
        return first, [None if g is None else g.numpy() for g in second]
    (f1, s1), (f2, s2) = run(ember), run(torch)
    for a, b in zip(f1 + s1, f2 + s2):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_weight_gradient_kept_without_copy(monkeypatch):
    taken = []
    accumulate = engine._accumulate

    def spy(leaf, g, create_graph, sole):
        taken.append((tuple(leaf.shape), sole, g._data.flags.c_contiguous))
        return accumulate(leaf, g, create_graph, sole)
    monkeypatch.setattr(engine, "_accumulate", spy)
    lin = ember.nn.Linear(3, 2)
    lin(ember.randn(5, 3)).pow(2).sum().backward()
    # the weight's gradient arrives laid out as the weight, owned by nobody else: kept
    assert ((2, 3), True, True) in taken
    assert lin.weight.grad.is_contiguous()


def test_deprecated_module_backward_hook_sees_torch_grads():
    def run(lib):
        lin = lib.nn.Linear(3, 2).double()
        with lib.no_grad():
            lin.weight.copy_(lib.tensor(np.arange(6.0).reshape(2, 3) / 5))
            lin.bias.copy_(lib.tensor([0.5, -1.0]))
        seen = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lin.register_backward_hook(lambda m, gi, go: seen.append(
                [None if g is None else g.detach().numpy().copy() for g in gi]))
        x = lib.tensor(np.arange(12.0).reshape(4, 3) / 7, requires_grad=True)
        lin(x).pow(2).sum().backward()
        return seen[0], lin.weight.grad.numpy()
    (mine, gw1), (theirs, gw2) = run(ember), run(torch)
    assert [None if g is None else g.shape for g in mine] == \
        [None if g is None else g.shape for g in theirs]
    for a, b in zip(mine, theirs):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(gw1, gw2, rtol=1e-12)


def test_forward_ad_and_vmap_through_linear():
    import ember.autograd.forward_ad as fwAD
    results = []
    for lib, fw in ((ember, fwAD), (torch, torch.autograd.forward_ad)):
        W, b, x = _inputs(lib)
        with fw.dual_level():
            Wd = fw.make_dual(W.detach(), lib.ones_like(W))
            y = lib.nn.functional.linear(x.detach(), Wd, b.detach())
            jt = fw.unpack_dual(y).tangent.numpy()
        per = lib.func.vmap(lambda r: lib.func.grad(
            lambda w: lib.nn.functional.linear(r, w, b.detach()).pow(2).sum())(W.detach()))(
            x.detach())
        results.append((jt, per.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)
