"""`out=` on functions that compute out of place: the result lands in the out tensor(s),
which are returned, as in PyTorch (these functions once accepted out= and ignored it)."""
import numpy as np
import pytest
import torch

import ember
from .harness import DEVICE

rng = np.random.default_rng(7)


def f64(*shape):
    return rng.standard_normal(shape)


SQ = f64(3, 3) + 3 * np.eye(3)
SPD = SQ @ SQ.T
V3 = f64(3)
CASES = [
    ("mm", lambda L, a, b, **o: L.mm(a, b, **o), [f64(2, 3), f64(3, 4)]),
    ("bmm", lambda L, a, b, **o: L.bmm(a, b, **o), [f64(2, 2, 3), f64(2, 3, 2)]),
    ("mv", lambda L, a, b, **o: L.mv(a, b, **o), [f64(2, 3), V3]),
    ("dot", lambda L, a, b, **o: L.dot(a, b, **o), [V3, f64(3)]),
    ("vdot", lambda L, a, b, **o: L.vdot(a, b, **o), [V3, f64(3)]),
    ("outer", lambda L, a, b, **o: L.outer(a, b, **o), [V3, f64(2)]),
    ("inner", lambda L, a, b, **o: L.inner(a, b, **o), [f64(2, 3), f64(4, 3)]),
    ("addmm", lambda L, c, a, b, **o: L.addmm(c, a, b, beta=0.5, **o),
     [f64(2, 4), f64(2, 3), f64(3, 4)]),
    ("addmv", lambda L, c, a, b, **o: L.addmv(c, a, b, **o), [f64(2), f64(2, 3), V3]),
    ("addbmm", lambda L, c, a, b, **o: L.addbmm(c, a, b, **o),
     [f64(2, 2), f64(3, 2, 4), f64(3, 4, 2)]),
    ("baddbmm", lambda L, c, a, b, **o: L.baddbmm(c, a, b, **o),
     [f64(3, 2, 2), f64(3, 2, 4), f64(3, 4, 2)]),
    ("addr", lambda L, c, a, b, **o: L.addr(c, a, b, **o), [f64(3, 2), V3, f64(2)]),
    ("tensordot", lambda L, a, b, **o: L.tensordot(a, b, dims=1, **o), [f64(2, 3), f64(3, 2)]),
    ("kron", lambda L, a, b, **o: L.kron(a, b, **o), [f64(2, 2), f64(2, 1)]),
    ("cross", lambda L, a, b, **o: L.cross(a, b, dim=1, **o), [f64(2, 3), f64(2, 3)]),
    ("linalg.cross", lambda L, a, b, **o: L.linalg.cross(a, b, **o), [f64(2, 3), f64(2, 3)]),
    ("multi_dot", lambda L, a, b, c, **o: L.linalg.multi_dot([a, b, c], **o),
     [f64(2, 3), f64(3, 3), f64(3, 2)]),
    ("aminmax", lambda L, a, **o: L.aminmax(a, dim=1, **o), [f64(2, 3)]),
    ("mode", lambda L, a, **o: L.mode(a, 1, **o), [np.array([[1.0, 2, 2], [3, 3, 1]])]),
    ("frexp", lambda L, a, **o: L.frexp(a, **o), [f64(4)]),
    ("index_select", lambda L, a, **o: L.index_select(a, 0, L.tensor([2, 0]), **o), [f64(3, 2)]),
    ("index_add", lambda L, a, s, **o: L.index_add(a, 0, L.tensor([1, 0]), s, **o),
     [f64(3, 2), f64(2, 2)]),
    ("masked_select", lambda L, a, **o: L.masked_select(a, a > 0, **o), [f64(3, 3)]),
    ("gather", lambda L, a, **o: L.gather(a, 1, L.tensor([[1, 0], [0, 0]]), **o), [f64(2, 2)]),
    ("take_along_dim", lambda L, a, **o: L.take_along_dim(a, L.tensor([[1], [0]]), 1, **o),
     [f64(2, 2)]),
    ("nonzero", lambda L, a, **o: L.nonzero(a > 0, **o), [f64(3, 3)]),
    ("sort", lambda L, a, **o: L.sort(a, descending=True, **o), [f64(2, 4)]),
    ("msort", lambda L, a, **o: L.msort(a, **o), [f64(3, 2)]),
    ("topk", lambda L, a, **o: L.topk(a, 2, **o), [f64(2, 4)]),
    ("kthvalue", lambda L, a, **o: L.kthvalue(a, 2, **o), [f64(2, 4)]),
    ("searchsorted", lambda L, s, v, **o: L.searchsorted(s, v, **o),
     [np.array([1.0, 2.0, 4.0]), np.array([0.5, 3.0, 5.0])]),
    ("bucketize", lambda L, v, s, **o: L.bucketize(v, s, **o),
     [np.array([0.5, 3.0, 5.0]), np.array([1.0, 2.0, 4.0])]),
    ("histc", lambda L, a, **o: L.histc(a, bins=4, min=-2, max=2, **o), [f64(10)]),
    ("histogram", lambda L, a, **o: L.histogram(a, 4, **o), [f64(10)]),
    ("normalize", lambda L, a, **o: L.nn.functional.normalize(a, dim=0, **o), [f64(3, 2)]),
    ("linalg.inv", lambda L, a, **o: L.linalg.inv(a, **o), [SQ]),
    ("inverse", lambda L, a, **o: L.inverse(a, **o), [SQ]),
    ("linalg.inv_ex", lambda L, a, **o: L.linalg.inv_ex(a, **o), [SQ]),
    ("linalg.det", lambda L, a, **o: L.linalg.det(a, **o), [SQ]),
    ("linalg.slogdet", lambda L, a, **o: L.linalg.slogdet(a, **o), [SQ]),
    ("slogdet", lambda L, a, **o: L.slogdet(a, **o), [SQ]),
    ("linalg.solve", lambda L, a, b, **o: L.linalg.solve(a, b, **o), [SQ, f64(3, 2)]),
    ("linalg.solve_ex", lambda L, a, b, **o: L.linalg.solve_ex(a, b, **o), [SQ, f64(3, 2)]),
    ("linalg.cholesky", lambda L, a, **o: L.linalg.cholesky(a, **o), [SPD]),
    ("linalg.cholesky_ex", lambda L, a, **o: L.linalg.cholesky_ex(a, **o), [SPD]),
    ("cholesky", lambda L, a, **o: L.cholesky(a, **o), [SPD]),
    ("linalg.qr", lambda L, a, **o: L.linalg.qr(a, **o), [f64(4, 3)]),
    ("qr", lambda L, a, **o: L.qr(a, **o), [f64(4, 3)]),
    ("linalg.svdvals", lambda L, a, **o: L.linalg.svdvals(a, **o), [f64(4, 3)]),
    ("linalg.eigvalsh", lambda L, a, **o: L.linalg.eigvalsh(a, **o), [SPD]),
    ("linalg.eigvals", lambda L, a, **o: L.linalg.eigvals(a, **o), [SPD]),
    ("linalg.pinv", lambda L, a, **o: L.linalg.pinv(a, **o), [f64(4, 3)]),
    ("linalg.matrix_rank", lambda L, a, **o: L.linalg.matrix_rank(a, **o), [f64(4, 3)]),
    ("linalg.norm", lambda L, a, **o: L.linalg.norm(a, **o), [f64(4, 3)]),
    ("linalg.cond", lambda L, a, **o: L.linalg.cond(a, **o), [SQ]),
    ("linalg.vecdot", lambda L, a, b, **o: L.linalg.vecdot(a, b, **o), [f64(2, 3), f64(2, 3)]),
]


def _run(lib, fn, arrays):
    ins = [lib.from_numpy(a.copy()) for a in arrays]
    if lib is ember:   # on the device the test case runs on (CPU, or CUDA)
        ins = [x.to(DEVICE[0]) for x in ins]
    ref = fn(lib, *ins)
    outs = tuple(lib.zeros_like(r) for r in ref) if isinstance(ref, tuple) else \
        lib.zeros_like(ref)
    res = fn(lib, *ins, out=outs)
    if isinstance(ref, tuple):
        same_objects = all(r is o for r, o in zip(res, outs))
        values = [o.cpu().numpy() for o in outs]
    else:
        same_objects = res is outs
        values = [outs.cpu().numpy()]
    return same_objects, values


@pytest.mark.parametrize("name,fn,arrays", CASES, ids=[c[0] for c in CASES])
def test_out_receives_the_result(name, fn, arrays):
    t_same, t_values = _run(torch, fn, arrays)
    e_same, e_values = _run(ember, fn, arrays)
    assert e_same == t_same
    assert len(e_values) == len(t_values)
    for e, t in zip(e_values, t_values):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)


def test_out_refused_when_autograd_would_record():
    for lib in (torch, ember):
        a = lib.ones(2, 2, requires_grad=True, device="cpu" if lib is torch else DEVICE[0])
        with pytest.raises(RuntimeError, match="out=... arguments don't support automatic"):
            lib.mm(a, a, out=lib.zeros_like(a))
        with lib.no_grad():
            out = lib.zeros_like(a)
            assert lib.mm(a, a, out=out) is out and out.sum().item() == 8.0
