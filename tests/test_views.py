"""View semantics against PyTorch: views share memory and the version counter with
their base, in-place ops through views reach the base's autograd history, and
strides / contiguity match."""
import warnings

import numpy as np
import pytest
import torch

import ember

# (name, fn(lib, x) -> a view of x), x has shape (2, 3, 4)
VIEWS = [
    ("view", lambda L, x: x.view(6, 4)),
    ("view_as", lambda L, x: x.view_as(L.zeros(4, 6))),
    ("reshape", lambda L, x: x.reshape(2, 12)),
    ("flatten", lambda L, x: x.flatten(1)),
    ("unflatten", lambda L, x: x.unflatten(2, (2, 2))),
    ("squeeze", lambda L, x: x[:1].squeeze(0)),
    ("unsqueeze", lambda L, x: x.unsqueeze(1)),
    ("permute", lambda L, x: x.permute(2, 0, 1)),
    ("movedim", lambda L, x: x.movedim(0, -1)),
    ("transpose", lambda L, x: x.transpose(0, 2)),
    ("swapaxes", lambda L, x: x.swapaxes(1, 2)),
    ("t", lambda L, x: x[0].t()),
    ("T", lambda L, x: x[0].T),
    ("mT", lambda L, x: x.mT),
    ("mH", lambda L, x: x.mH),
    ("adjoint", lambda L, x: x.adjoint()),
    ("narrow", lambda L, x: x.narrow(2, 1, 2)),
    ("unbind", lambda L, x: x.unbind(1)[2]),
    ("split", lambda L, x: x.split(2, dim=2)[1]),
    ("split_sizes", lambda L, x: x.split([1, 2], dim=1)[1]),
    ("chunk", lambda L, x: x.chunk(2, dim=-1)[0]),
    ("tensor_split", lambda L, x: x.tensor_split(3, dim=2)[1]),
    ("hsplit", lambda L, x: x.hsplit([1])[1]),
    ("diagonal", lambda L, x: x.diagonal(0, 1, 2)),
    ("diagonal_offset", lambda L, x: x.diagonal(-1, 2, 1)),
    ("unfold", lambda L, x: x.unfold(2, 2, 2)),
    ("as_strided", lambda L, x: x.as_strided((3, 2), (4, 2), 1)),
    ("atleast_3d", lambda L, x: L.atleast_3d(x[0, 0])),
    ("view_of_view", lambda L, x: x.transpose(0, 1)[1:].diagonal(0, 0, 2)),
]

# views whose elements overlap in memory: PyTorch refuses to write through them,
# but writes to their base are seen through them
OVERLAPPING = [
    ("expand", lambda L, x: x[:, :1].expand(2, 5, 4)),
    ("broadcast_to", lambda L, x: L.broadcast_to(x[0, 0], (3, 4))),
    ("meshgrid", lambda L, x: L.meshgrid(x[0, 0], x[1, 1], indexing="xy")[0]),
    ("unfold_overlap", lambda L, x: x.unfold(2, 3, 1)),
]


def _base(L, device="cpu"):
    x = L.from_numpy(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    return x if L is torch or device == "cpu" else x.to(device)


def _host(t):
    return t.cpu().numpy()


def _both(fn, device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(torch, _base(torch)), fn(ember, _base(ember, device))


def _run(L, fn, action, device="cpu"):
    x = _base(L, device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        v = fn(L, x)
    action(x, v)
    return x, v


@pytest.mark.parametrize("name,fn", VIEWS, ids=[v[0] for v in VIEWS])
def test_write_through_view_reaches_base(name, fn, device):
    def action(x, v):
        v.mul_(-1)
    (tx, tv), (ex, ev) = _run(torch, fn, action), _run(ember, fn, action, device)
    assert ev.device.type == device
    np.testing.assert_array_equal(_host(ex), tx.numpy())
    np.testing.assert_array_equal(_host(ev), tv.numpy())
    assert ex._version == ev._version == tx._version == 1


@pytest.mark.parametrize("name,fn", VIEWS + OVERLAPPING, ids=[v[0] for v in VIEWS + OVERLAPPING])
def test_write_to_base_seen_through_view(name, fn, device):
    def action(x, v):
        x.add_(100)
    (tx, tv), (ex, ev) = _run(torch, fn, action), _run(ember, fn, action, device)
    assert tuple(ev.shape) == tuple(tv.shape)
    np.testing.assert_array_equal(_host(ev), tv.numpy())
    assert ev._version == ex._version == tv._version == 1


@pytest.mark.parametrize("name,fn", VIEWS + OVERLAPPING, ids=[v[0] for v in VIEWS + OVERLAPPING])
def test_strides_and_contiguity(name, fn, device):
    tv, ev = _both(fn, device)
    assert ev.stride() == tv.stride()
    assert ev.is_contiguous() == tv.is_contiguous()
    assert ev.storage_offset() == tv.storage_offset()
    assert ev._base is not None


# outputs of unbind/split/chunk: PyTorch forbids in-place ops on them when they need grad
MULTI_OUTPUT = ("unbind", "split", "split_sizes", "chunk")
SINGLE_VIEWS = [v for v in VIEWS if v[0] not in MULTI_OUTPUT]


@pytest.mark.parametrize("name,fn", SINGLE_VIEWS, ids=[v[0] for v in SINGLE_VIEWS])
def test_inplace_on_view_of_nonleaf_grads(name, fn, device):
    """y = x * 1; fn(y).mul_(w); (y * c).sum().backward(): the gradient flows through
    CopySlices into x, as in PyTorch."""
    grads = []
    for L in (torch, ember):
        x = _base(L, device).double().requires_grad_()
        y = x * 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            v = fn(L, y)
        w = L.from_numpy(np.linspace(-2, 2, v.numel()).reshape(tuple(v.shape))).to(x.device)
        v.mul_(w)
        assert y.grad_fn.name().endswith("CopySlices")  # torch::autograd::CopySlices
        c = L.from_numpy(np.arange(24, dtype=np.float64).reshape(2, 3, 4)).to(x.device)
        (y * c).sum().backward()
        assert x.grad.device == x.device
        grads.append(_host(x.grad))
    np.testing.assert_allclose(grads[1], grads[0])


def test_diagonal_mul_example(device):
    out = []
    for L in (torch, ember):
        x = L.ones(3, 3, dtype=L.float64, requires_grad=True,
                   device=device if L is ember else "cpu")
        y = x.clone()
        y.diagonal().mul_(2)
        y.sum().backward()
        out.append(_host(x.grad))
    np.testing.assert_array_equal(out[1], out[0])


def test_view_of_leaf_inplace_raises():
    for L in (torch, ember):
        x = L.ones(2, 3, requires_grad=True)
        with pytest.raises(RuntimeError):
            x.t().mul_(2)


def test_version_shared_by_all_views_of_one_base(device):
    x = ember.zeros(4, 4, device=device)
    a, b = x.t(), x.diagonal()
    b.add_(1)
    assert x._version == a._version == b._version == 1
    a.narrow(0, 0, 1).add_(4)
    assert x._version == b._version == 2
    assert x.tolist()[0] == [5, 0, 0, 0] and b.tolist() == [5, 1, 1, 1]


def test_saved_view_modified_inplace_raises():
    """A saved tensor changed in place through a view invalidates backward."""
    for L in (torch, ember):
        x = L.ones(3, 3, dtype=L.float64, requires_grad=True)
        y = x * 1
        z = y.exp()  # saves its output
        z.t().mul_(2)
        with pytest.raises(RuntimeError):
            z.sum().backward()


@pytest.mark.parametrize("name,fn", [
    ("transpose", lambda L, x: x.transpose(0, 1)),
    ("slice", lambda L, x: x[:, 1:3]),
    ("step_slice", lambda L, x: x[::2]),
    ("expand", lambda L, x: x[:1].expand(3, 4)),
    ("unsqueeze", lambda L, x: x.unsqueeze(0)),
    ("size1_dim", lambda L, x: x[:1]),
    ("col", lambda L, x: x[:, :1]),
    ("reshape_copy", lambda L, x: x.t().reshape(12)),
    ("contiguous_of_t", lambda L, x: x.t().contiguous()),
    ("contiguous_noop", lambda L, x: x.contiguous()),
    ("empty", lambda L, x: x[:0]),
    ("permute_back", lambda L, x: x.t().t()),
], ids=lambda v: v if isinstance(v, str) else "")
def test_contiguity_like_torch(name, fn):
    tx = torch.zeros(3, 4)
    ex = ember.zeros(3, 4)
    tv, ev = fn(torch, tx), fn(ember, ex)
    assert ev.is_contiguous() == tv.is_contiguous()
    if tv.numel():
        assert ev.stride() == tv.stride()


def test_contiguous_returns_self_or_copy():
    x = ember.zeros(3, 4)
    assert x.contiguous() is x
    y = x.t().contiguous()
    assert y.is_contiguous() and y.stride() == (3, 1)
    y.add_(1)
    assert x.sum().item() == 0  # a copy, not a view


def test_reshape_copy_is_not_a_view():
    for L in (torch, ember):
        x = L.zeros(3, 4)
        r = x.t().reshape(12)
        r.add_(1)
        assert x.sum().item() == 0
        assert r._base is None


def test_split_pieces_share_memory(device):
    x = ember.arange(6.0, device=device)
    a, b = x.split(3)
    b.mul_(10)
    assert x.tolist() == [0, 1, 2, 30, 40, 50]
