"""Autograd graph fidelity after in-place writes, compared with torch on the same programs:
a view written in place, or used after a write into its base, has a node regenerated as
PyTorch's ``AsStridedBackward0`` (autograd/graph.regenerated_view_node), its edges lead
to the base's new history, and the gradients stay right."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _names(fn, depth=2):
    """(name, [edges' names ...]) of node `fn`, `depth` levels down."""
    if fn is None:
        return None
    if depth == 0:
        return fn.name()
    return fn.name(), [(_names(f, depth - 1), nr) for f, nr in fn.next_functions]


def _base(lib):
    leaf = lib.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    return leaf, leaf * 1


def _inplace_on_select(lib):
    leaf, a = _base(lib)
    b = a[0]
    b.mul_(2)
    return leaf, b, [b.grad_fn.name(), a.grad_fn.name(), _names(b.grad_fn, 1)], b.sum()


def _inplace_on_view(lib):
    leaf, a = _base(lib)
    e = a.view(6)
    e.add_(1)
    return leaf, e, [e.grad_fn.name(), _names(e.grad_fn, 1)], (e * e).sum()


def _inplace_on_transpose(lib):
    leaf, a = _base(lib)
    t = a.t()
    t.mul_(leaf.t())
    return leaf, t, [t.grad_fn.name(), _names(t.grad_fn, 1)], (t * 3).sum()


def _base_written_view_used(lib):
    leaf, a = _base(lib)
    c = a[1]
    a.add_(1)
    out = c * 2            # the view is used: its node is made again first
    return leaf, c, [c.grad_fn.name(), _names(c.grad_fn)], out.sum()


def _slice_of_slice(lib):
    leaf, a = _base(lib)
    s = a[:, 1:][0]
    s.sub_(leaf[0, :2])
    return leaf, s, [s.grad_fn.name(), a.grad_fn.name()], (s ** 2).sum()


PROGRAMS = [_inplace_on_select, _inplace_on_view, _inplace_on_transpose,
            _base_written_view_used, _slice_of_slice]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_regenerated_view_nodes_and_gradients_match_torch(program):
    t_leaf, _, t_names, t_loss = program(torch)
    e_leaf, _, e_names, e_loss = program(ember)
    assert e_names == t_names
    t_loss.backward()
    e_loss.backward()
    np.testing.assert_allclose(e_leaf.grad.numpy(), t_leaf.grad.numpy(), rtol=1e-12)


def test_copy_slices_edges_as_torch():
    """PyTorch's CopySlices wraps the in-place op's node: the base's edge, then the op's
    other operands' edges (None for a number)."""
    def run(lib):
        _, a = _base(lib)
        a[0].mul_(2)
        return _names(a.grad_fn, 1)
    assert run(ember) == run(torch)
