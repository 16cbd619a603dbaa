"""Selective activation checkpointing (create_selective_checkpoint_contexts) against
PyTorch's: the same program checkpointed in both with the same policies; the ops the
policy is asked about (with their outputs), the outputs and gradients, which ops the
recomputation runs again, and the errors (a second backward, a mutated cached output,
bad policies)."""
import functools
import importlib
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402


def cp(lib):
    return importlib.import_module(lib.__name__ + ".utils.checkpoint")


def dispatch_mode(lib):
    return importlib.import_module(lib.__name__ + ".utils._python_dispatch").TorchDispatchMode


def inputs(lib):
    rng = np.random.default_rng(0)
    return [lib.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
            for s in ((4, 3), (3, 5), (5, 2))]


def program(lib):
    def f(x, w, v):
        h = (x @ w).sin().relu()
        return (h @ v).exp() * 0.5
    return f


def run(lib, policy, count_backward=False):
    """(output, grads, ops counted in backward) of the program checkpointed with `policy`."""
    xs = inputs(lib)
    ctx_fn = functools.partial(cp(lib).create_selective_checkpoint_contexts, policy)
    y = cp(lib).checkpoint(program(lib), *xs, use_reentrant=False, context_fn=ctx_fn)
    counts = {}

    class Count(dispatch_mode(lib)):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            counts[str(func)] = counts.get(str(func), 0) + 1
            return func(*args, **(kwargs or {}))

    if count_backward:
        with Count():
            y.sum().backward()
    else:
        y.sum().backward()
    return y.detach().numpy(), [t.grad.numpy() for t in xs], counts


def check_same(ours, theirs):
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_policy_sees_the_same_ops_and_gradients_match():
    seen = {"ember": [], "torch": []}

    def policy_of(name, lib):
        def policy(ctx, op, *args, **kwargs):
            out = ctx.op_output
            seen[name].append((ctx.is_recompute, str(op), tuple(out.shape), len(args)))
            return cp(lib).CheckpointPolicy.MUST_SAVE if str(op) == "aten.mm.default" \
                else cp(lib).CheckpointPolicy.PREFER_RECOMPUTE
        return policy

    ours = run(ember, policy_of("ember", ember))
    theirs = run(torch, policy_of("torch", torch))
    check_same(ours, theirs)
    assert seen["ember"] == seen["torch"]
    assert [s[1] for s in seen["ember"]] == ["aten.mm.default", "aten.sin.default",
                                             "aten.relu.default", "aten.mm.default",
                                             "aten.exp.default", "aten.mul.Tensor"]


@pytest.mark.parametrize("kind", ["list", "bool", "recompute all", "save all"])
def test_saved_ops_are_not_recomputed(kind):
    """Backward runs every mm of the forward again under plain checkpointing; with mm
    saved it runs two fewer, in ember as in PyTorch."""
    def policy_for(lib):
        if kind == "list":
            return [lib.ops.aten.mm.default]
        if kind == "bool":
            return lambda ctx, op, *a, **k: str(op) == "aten.mm.default"
        save = kind == "save all"
        return lambda ctx, op, *a, **k: cp(lib).CheckpointPolicy.PREFER_SAVE if save \
            else cp(lib).CheckpointPolicy.MUST_RECOMPUTE

    def plain(lib):
        return lambda ctx, op, *a, **k: cp(lib).CheckpointPolicy.PREFER_RECOMPUTE

    diffs = {}
    for lib in (ember, torch):
        ours = run(lib, policy_for(lib), count_backward=True)
        base = run(lib, plain(lib), count_backward=True)
        check_same(ours, base)
        diffs[lib.__name__] = {op: base[2].get(op, 0) - ours[2].get(op, 0)
                               for op in ("aten.mm.default", "aten.sin.default",
                                          "aten.exp.default")}
    assert diffs["ember"] == diffs["torch"]
    expected_mm = 0 if kind == "recompute all" else 2
    assert diffs["ember"]["aten.mm.default"] == expected_mm


def test_second_backward_raises_as_torch():
    messages = []
    for lib in (ember, torch):
        xs = inputs(lib)
        ctx_fn = functools.partial(cp(lib).create_selective_checkpoint_contexts,
                                   [lib.ops.aten.mm.default])
        y = cp(lib).checkpoint(program(lib), *xs, use_reentrant=False, context_fn=ctx_fn)
        y.sum().backward(retain_graph=True)
        with pytest.raises(RuntimeError) as e:
            y.sum().backward()
        messages.append(str(e.value))
    assert messages[0] == messages[1]
    assert "backward an extra time" in messages[0]


def test_mutated_cached_output_raises_unless_allowed():
    def f(x, w):
        a = x @ w
        a.mul_(2)
        return a.sin()

    for allow in (False, True):
        outcomes = []
        for lib in (ember, torch):
            xs = inputs(lib)[:2]
            ctx_fn = functools.partial(cp(lib).create_selective_checkpoint_contexts,
                                       [lib.ops.aten.mm.default],
                                       allow_cache_entry_mutation=allow)
            y = cp(lib).checkpoint(f, *xs, use_reentrant=False, context_fn=ctx_fn)
            try:
                y.sum().backward()
                outcomes.append(("ok", [t.grad.numpy() for t in xs]))
            except RuntimeError as e:
                outcomes.append(("error", str(e)))
        assert outcomes[0][0] == outcomes[1][0]
        if outcomes[0][0] == "error":
            assert outcomes[0][1] == outcomes[1][1]
        else:
            for a, b in zip(outcomes[0][1], outcomes[1][1]):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        assert outcomes[0][0] == ("ok" if allow else "error")


def test_bad_policies_raise_as_torch():
    for bad, exc in (([ember.ops.aten.mm], ValueError), (3, TypeError)):
        with pytest.raises(exc) as ours:
            cp(ember).create_selective_checkpoint_contexts(bad)
        theirs_bad = [torch.ops.aten.mm] if exc is ValueError else 3
        with pytest.raises(exc) as theirs:
            cp(torch).create_selective_checkpoint_contexts(theirs_bad)
        def plain(text):   # the classes' module paths differ
            return re.sub(r"<class '[\w.]*\.(\w+)'>", r"\1", text)
        assert plain(str(ours.value)) == plain(str(theirs.value))


def test_policy_names():
    assert [p.name for p in cp(ember).CheckpointPolicy] == \
        [p.name for p in cp(torch).CheckpointPolicy]
    assert [p.value for p in cp(ember).CheckpointPolicy] == \
        [p.value for p in cp(torch).CheckpointPolicy]
