"""A view's history after an in-place write through another view of its base, or into the
base itself: PyTorch regenerates the view's grad_fn from the base's new history (the
version counter tells it the base changed), so gradients see the write. Compared with
torch on the same programs."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _run(lib, program):
    x = lib.tensor(np.arange(1.0, 13.0).reshape(4, 3), requires_grad=True)
    out = program(lib, x)
    return out, x


def _write_through_subview(lib, x):
    y = (x * 1).transpose(1, 0)        # a view of a non-leaf
    y[0, 2:] = 0.0                      # written through a view of the view
    y.sum().backward()


def _write_through_sibling(lib, x):
    b = x * 1
    y = b[1:]
    b[:2].mul_(2)                       # the sibling overlaps y's first row
    (y * y).sum().backward()


def _write_into_base(lib, x):
    b = x * 1
    y = b[1:, 1:]
    b.mul_(3)
    (y ** 2).sum().backward()


def _view_of_view(lib, x):
    b = x * 1
    y = b[1:]
    z = y[:, 1:]
    b[2].zero_()
    w = b.t()
    w[0].mul_(5)
    (z * lib.arange(1.0, 7.0).reshape(3, 2)).sum().backward()


def _root_is_stale_view(lib, x):
    b = x * 2
    y = b[1:]
    b[1:3].pow_(2)
    y.backward(lib.ones(3, 3))


def _autograd_grad(lib, x):
    b = x * 1
    y = b[:, :2]
    b[:, 1].exp_()
    (g,) = lib.autograd.grad(y.sum(), x)
    x.grad = g


def _base_without_history(lib, x):
    b = lib.zeros(4, 3)
    y = b[1:]
    b[2].copy_(x[0] * 2)                # the base's history now reaches x
    assert y.requires_grad
    y.sum().backward()


def _retain_grad_on_stale_view(lib, x):
    # (a hook registered on such a view crashes torch 2.13, so the view retains its grad)
    b = x * 1
    y = b[1:]
    b.mul_(2)
    y.retain_grad()
    (y * 3).sum().backward()
    x.grad = x.grad + y.grad.sum()


def _no_grad_write(lib, x):
    b = x * 1
    y = b[1:]
    with lib.no_grad():
        b.add_(1)                       # a version bump without history
    (y * y).sum().backward()


def _base_without_history_unasked(lib, x):
    b = lib.zeros(4, 3)
    y = b[1:].t()
    b[2].copy_(x[0] * 2)
    (y * 3).sum().backward()            # y's requires_grad never read first


def _custom_function_input(lib, x):
    class Double(lib.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return t * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2
    b = x * 1
    y = b[:, 1:]
    b.mul_(5)
    Double.apply(y).sum().backward()


def _checkpointed(lib, x):
    from importlib import import_module
    checkpoint = import_module(lib.__name__ + ".utils.checkpoint").checkpoint
    b = x * 1
    y = b[1:]
    b.mul_(2)
    checkpoint(lambda t: (t * t).sum(), y, use_reentrant=False).backward()


PROGRAMS = [_write_through_subview, _write_through_sibling, _write_into_base, _view_of_view,
            _root_is_stale_view, _autograd_grad, _base_without_history,
            _base_without_history_unasked, _retain_grad_on_stale_view, _no_grad_write,
            _custom_function_input, _checkpointed]


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.__name__.strip("_") for p in PROGRAMS])
def test_view_sees_later_writes_to_its_base(program):
    _, xe = _run(ember, program)
    _, xt = _run(torch, program)
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-6)


def test_leaf_view_that_requires_grad_keeps_its_gradient():
    """A view of a tensor that does not require grad, made a leaf that does: writes to the
    base without history leave it a leaf."""
    for lib in (ember, torch):
        b = lib.zeros(4, 3)
        y = b[1:].detach().requires_grad_()
        b.add_(1)
        assert y.is_leaf
        (y * 2).sum().backward()
        assert y.grad.sum().item() == 18.0

