"""ember.jit.load of torch-scripted code using statements and ops the interpreter did not
run before: ``with torch.no_grad():`` (an object of the archive's no_grad class), closures
(``torch.jit.fork``'s function), list methods written as torch ops (sort, reverse, remove,
index, count, slicing, sum), Tensor.cpu and torch.linalg ops; each compared with torch."""
import io
from typing import List

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402


def load_in_ember(module):
    scripted = torch.jit.script(module)
    buf = io.BytesIO()
    torch.jit.save(scripted, buf)
    buf.seek(0)
    return scripted, ember.jit.load(buf)


def flat(out):
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in flat(o)]
    if hasattr(out, "detach"):
        return [np.asarray(out.detach().numpy(), dtype=np.float64)]
    return [np.float64(out)]


def check(module, *args):
    scripted, back = load_in_ember(module)
    want = flat(scripted(*args))
    got = flat(back(*[ember.tensor(a.detach().numpy(), requires_grad=a.requires_grad)
                      if isinstance(a, torch.Tensor) else a for a in args]))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    return back


class NoGrad(torch.nn.Module):
    def forward(self, x):
        with torch.no_grad():
            y = x * 2
            with torch.no_grad():
                z = y + 1
        return z + x, y.requires_grad, z.requires_grad


def test_with_no_grad_block():
    x = torch.randn(2, 3, requires_grad=True)
    back = check(NoGrad(), x)
    ex = ember.randn(2, 3, requires_grad=True)
    out, y_grad, z_grad = back(ex)
    assert not y_grad and not z_grad and out.requires_grad
    assert ember.is_grad_enabled()   # restored on exit


class NoGradRaises(torch.nn.Module):
    def forward(self, x):
        with torch.no_grad():
            if x.dim() != 2:
                raise ValueError("need a matrix")
            y = x + 1
        return y


def test_with_block_restores_grad_mode_when_it_raises():
    _, back = load_in_ember(NoGradRaises())
    with pytest.raises(ember.jit.Error, match="need a matrix"):
        back(ember.ones(3))
    assert ember.is_grad_enabled()


def scale(x: torch.Tensor, k: int) -> torch.Tensor:
    return x * k


class Forked(torch.nn.Module):
    def forward(self, x):
        futures = [torch.jit.fork(scale, x, k) for k in range(3)]
        total = x
        for f in futures:
            total = total + torch.jit.wait(f)
        return total


def test_fork_and_wait_closures():
    check(Forked(), torch.randn(2, 3))


class ListOps(torch.nn.Module):
    def forward(self, x):
        squares: List[int] = []
        for i in range(4):
            squares.append(i * i)
        squares.insert(0, 9)
        squares.pop()
        squares.reverse()
        squares.remove(0)
        tail = squares[1:] + [5]
        tail.sort()
        floats: List[float] = [0.5, 2.5, 1.5]
        floats.sort(reverse=True)
        return (x + sum(tail) + max(tail) + len(tail) + tail.index(5) + tail.count(5)
                + floats[0] + squares[::2][-1] + sorted(tail)[0])


def test_list_methods():
    check(ListOps(), torch.randn(2, 3))


class LinalgAndCpu(torch.nn.Module):
    def forward(self, x):
        return (torch.linalg.norm(x), torch.linalg.matrix_norm(x),
                torch.linalg.inv(x + 3 * torch.eye(3)), torch.linalg.det(x),
                x.cpu().contiguous().view(-1).numel(), x.norm(2, 1))


def test_linalg_and_cpu():
    torch.manual_seed(0)
    check(LinalgAndCpu(), torch.randn(3, 3))
