"""Views made while grad mode is off (PyTorch's CreationMeta), against torch: such a view
of a tensor that requires grad requires grad too, yet is no leaf of any graph (gradients
stop there); in-place ops that grad mode would record on it (or on a view of it) raise
PyTorch's RuntimeError; autograd.grad names the unused input's index."""
import copy

import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import outcome as _outcome  # noqa: E402


def _views(m):
    x = m.ones(3, 4, requires_grad=True)
    with m.no_grad():
        views = [x[0], x.view(12), x.flatten(), x.t(), x.reshape(4, 3), x[1:], x.unbind(0)[0],
                 x.split(1)[0], x.chunk(2)[1], x.expand(2, 3, 4), x.unsqueeze(0),
                 x.narrow(1, 0, 2), x.diagonal(), x.unflatten(1, (2, 2)), x.movedim(0, 1)]
        computed = x * 2
    return [(v.requires_grad, v.is_leaf, v.grad_fn is None) for v in views] + \
        [computed.requires_grad]


def _gradient_stops(m):
    x = m.ones(3, 4, requires_grad=True)
    with m.no_grad():
        v = x[0]
    z = v * 2
    z.sum().backward()
    return [z.requires_grad, z.grad_fn is not None, v.grad, x.grad]


def _no_grad_view_in_model(m):
    m.manual_seed(0)
    lin = m.nn.Linear(3, 2)
    with m.no_grad():
        w0 = lin.weight[0]
    out = lin(m.ones(1, 3)).sum() + (w0 * 2).sum()
    out.backward()
    return [lin.weight.grad, lin.bias.grad]


def _unused_view(m):
    x = m.ones(3, requires_grad=True)
    with m.no_grad():
        v = x[:2]
    return m.autograd.grad((v * 3).sum(), v)


def _unused_view_allowed(m):
    x = m.ones(3, requires_grad=True)
    with m.no_grad():
        v = x[:2]
    return m.autograd.grad((v * 3).sum(), v, allow_unused=True)


def _unused_index(m):
    a = m.ones(2, requires_grad=True)
    b = m.ones(2, requires_grad=True)
    return m.autograd.grad((a * 2).sum(), [a, b])


def _requires_grad_false_keeps(m):
    x = m.ones(3, requires_grad=True)
    with m.no_grad():
        v = x[:2]
    v.requires_grad_(False)
    return v.requires_grad


def _inplace(make, op, mode="no_grad"):
    def program(m):
        x = make(m)
        ctx = m.inference_mode() if mode == "inference" else m.no_grad()
        with ctx:
            v = x[1:]
        op(m, v)
        return x
    return program


_LEAF = lambda m: m.ones(4, requires_grad=True)  # noqa: E731
_NONLEAF = lambda m: m.ones(4, requires_grad=True).clone()  # noqa: E731
_PLAIN = lambda m: m.ones(4)  # noqa: E731

CASES = {
    "views_require_grad": _views,
    "gradient_stops": _gradient_stops,
    "view_in_model": _no_grad_view_in_model,
    "unused_view": _unused_view,
    "unused_view_allowed": _unused_view_allowed,
    "unused_index": _unused_index,
    "requires_grad_false_keeps": _requires_grad_false_keeps,
    "mul_leaf_base": _inplace(_LEAF, lambda m, v: v.mul_(2)),
    "zero_nonleaf_base": _inplace(_NONLEAF, lambda m, v: v.zero_()),
    "setitem_nonleaf_base": _inplace(_NONLEAF, lambda m, v: v.__setitem__(0, 3.0)),
    "view_of_view": _inplace(_NONLEAF, lambda m, v: v.view(3, 1).t().add_(1)),
    "view_of_view_grad_mode": _inplace(_NONLEAF, lambda m, v: v.view(3).add_(1)),
    "inference_mode_view": _inplace(_NONLEAF, lambda m, v: v.add_(1), "inference"),
    "plain_base_constant": _inplace(_PLAIN, lambda m, v: v.add_(1)),
    "plain_base_recorded": _inplace(_PLAIN, lambda m, v: v.add_(m.ones(3, requires_grad=True))),
    "data_inplace": _inplace(_NONLEAF, lambda m, v: v.data.add_(1)),
    "inplace_under_no_grad": lambda m: _inside_no_grad(m),
    "clone_and_deepcopy": lambda m: _copies(m),
}


def _inside_no_grad(m):
    x = m.ones(3, requires_grad=True)
    with m.no_grad():
        q = x[1:]
        q.add_(1)
    return [x, x.grad, q.requires_grad]


def _copies(m):
    x = m.ones(3, requires_grad=True)
    with m.no_grad():
        v = x[1:]
    c = v.clone()
    return [copy.deepcopy(v).requires_grad, c.requires_grad, c.grad_fn is None,
            v.detach().requires_grad]


@pytest.mark.parametrize("name", list(CASES))
def test_no_grad_view_matches_torch(name):
    program = CASES[name]
    t, e = _outcome(program, torch), _outcome(program, ember)
    if isinstance(t, tuple) and t[0] == "raised":
        assert e[:2] == t[:2] and e[2].replace("ember", "torch") == t[2], (t, e)
    else:
        assert e == t, (t, e)


def test_flatten_under_no_grad_keeps_requires_grad():
    """nn.Flatten/Unflatten of a tensor requiring grad, run under no_grad (torch's legacy
    nn tables check this)."""
    for m in (torch, ember):
        x = m.ones(2, 3, 4, requires_grad=True)
        with m.no_grad():
            flat = m.nn.Flatten()(x)
            unflat = m.nn.Unflatten(1, (3, 4))(flat)
        assert flat.requires_grad and unflat.requires_grad and flat.grad_fn is None
