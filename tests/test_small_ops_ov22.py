"""Behaviour kept by the session-22 per-op speedups (reshape's copy path, linear's bias
check), compared with PyTorch."""
import numpy as np
import pytest
import torch

import ember


def _pair(shape):
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape) / 7
    return torch.tensor(a, requires_grad=True), ember.tensor(a, requires_grad=True)


@pytest.mark.parametrize("src,shape", [((4, 4), (16,)), ((2, 3, 4), (4, 6)),
                                       ((3, 4), (2, -1)), ((5, 1), (5,))])
def test_reshape_of_transposed_matches_torch(src, shape):
    t, e = _pair(src)
    tt, et = t.transpose(0, -1), e.transpose(0, -1)
    tr, er = tt.reshape(shape), et.reshape(shape)
    assert tuple(er.shape) == tuple(tr.shape)
    np.testing.assert_array_equal(er.detach().numpy(), tr.detach().numpy())
    names = lambda fn: (type(fn).__name__, [type(f).__name__ for f, _ in fn.next_functions])
    assert names(er.grad_fn) == names(tr.grad_fn)
    w = np.linspace(-1, 1, tr.numel(), dtype=np.float32).reshape(tuple(tr.shape))
    (tr * torch.tensor(w)).sum().backward()
    (er * ember.tensor(w)).sum().backward()
    np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())
    # the copy is the result's own memory: writing it leaves the source alone
    with torch.no_grad(), ember.no_grad():
        tr.zero_()
        er.zero_()
    np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())


def test_reshape_copy_without_grad_and_view_cases():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t, e = torch.tensor(a), ember.tensor(a)
    for fn in (lambda x: x.transpose(1, 2).reshape(-1), lambda x: x[:, :, ::2].reshape(2, 6),
               lambda x: x[:, 1:].reshape(2, 8), lambda x: x.permute(2, 0, 1).reshape(4, 6)):
        tr, er = fn(t), fn(e)
        np.testing.assert_array_equal(er.numpy(), tr.numpy())
        assert (er._base is not None) == (tr._base is not None)


@pytest.mark.parametrize("xshape", [(8, 16), (2, 4, 16), (16,)])
@pytest.mark.parametrize("bshape", [(32,), (1,), (3,), (8, 32), (2, 32), (33,), (2, 3, 32)])
def test_linear_bias_shapes_match_torch(xshape, bshape):
    got = []
    for lib in (torch, ember):
        x = lib.ones(xshape)
        w = lib.ones(32, 16)
        b = lib.arange(float(np.prod(bshape))).reshape(bshape)
        try:
            got.append(lib.nn.functional.linear(x, w, b).tolist())
        except RuntimeError as err:
            got.append(("RuntimeError", str(err)))
    assert got[1] == got[0]
