"""Matrix products and linear algebra against PyTorch: one op table driven through the
`check` harness (values, dtypes, shapes, gradients, exception types), float64 gradcheck
and gradgradcheck of every differentiable op, node names, and LinAlgError messages.

Decompositions with a sign / rotation freedom (svd, eigh) are compared through
quantities that do not depend on it (reconstructions, |U|, eigenvalues), so that a
different but equally valid LAPACK choice cannot fail a test.
"""
import numpy as np
import pytest
import torch

import ember
from .harness import Grad, check

rng = np.random.default_rng(0)


def f64(*s):
    return rng.standard_normal(s)


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


def bf16(*s):
    return f32(*s).astype(ember.bfloat16.np)


def f16(*s):
    return f32(*s).astype(np.float16)


def i64(*s):
    return rng.integers(-5, 5, s)


def well(*s, dtype=np.float64):
    """Well-conditioned square matrices (..., n, n): random plus n on the diagonal."""
    n = s[-1]
    return (rng.standard_normal(s) + n * np.eye(n)).astype(dtype)


def spd(*s, dtype=np.float64):
    """Symmetric positive-definite matrices (..., n, n)."""
    a = rng.standard_normal(s)
    return (a @ np.swapaxes(a, -1, -2) + s[-1] * np.eye(s[-1])).astype(dtype)


def sym(*s):
    a = rng.standard_normal(s)
    return a + np.swapaxes(a, -1, -2)


def nc(a):
    """A non-contiguous array with the values of `a` (a transposed copy's transpose)."""
    return np.swapaxes(np.swapaxes(a, -1, -2).copy(), -1, -2)


def sym_of(L, x):
    """A symmetric matrix built from x, so a gradient flows through both triangles."""
    return x + x.mT


def spd_of(L, x):
    n = x.shape[-1]
    return x @ x.mT + n * L.eye(n, dtype=x.dtype)


def usv(L, x, **kw):
    """The gauge-invariant parts of an SVD: U S Vh, |U|, S, |Vh|."""
    U, S, Vh = L.linalg.svd(x, **kw)
    k = S.shape[-1]
    U, Vh = U[..., :, :k], Vh[..., :k, :]
    return (U * S.unsqueeze(-2)) @ Vh, U.abs(), S, Vh.abs()


def eigh_parts(L, x, uplo="L"):
    w, V = L.linalg.eigh(sym_of(L, x), UPLO=uplo)
    return w, V.abs(), (V * w.exp().unsqueeze(-2)) @ V.mT


# (name, fn(lib, *inputs), inputs, check keyword arguments)
CASES = [
    # ---- matmul and the @ operator, every dispatch case
    ("matmul 1x1", lambda L, a, b: L.matmul(a, b), [Grad(f64(3)), Grad(f64(3))], {}),
    ("matmul 2x1", lambda L, a, b: a @ b, [Grad(f64(2, 3)), Grad(f64(3))], {}),
    ("matmul 1x2", lambda L, a, b: a @ b, [Grad(f64(3)), Grad(f64(3, 4))], {}),
    ("matmul 2x2", lambda L, a, b: a @ b, [Grad(f32(2, 3)), Grad(f32(3, 4))], {}),
    ("matmul 3x2", lambda L, a, b: a @ b, [Grad(f64(5, 2, 3)), Grad(f64(3, 4))], {}),
    ("matmul 2x3", lambda L, a, b: a @ b, [Grad(f64(2, 3)), Grad(f64(5, 3, 4))], {}),
    ("matmul 3x3", lambda L, a, b: a @ b, [Grad(f32(5, 2, 3)), Grad(f32(5, 3, 4))], {}),
    ("matmul 3x1", lambda L, a, b: a @ b, [Grad(f64(5, 2, 3)), Grad(f64(3))], {}),
    ("matmul 1x3", lambda L, a, b: a @ b, [Grad(f64(3)), Grad(f64(5, 3, 4))], {}),
    ("matmul 1x4", lambda L, a, b: a @ b, [Grad(f64(3)), Grad(f64(2, 5, 3, 4))], {}),
    ("matmul broadcast batch", lambda L, a, b: a @ b,
     [Grad(f64(2, 1, 2, 3)), Grad(f64(1, 4, 3, 2))], {}),
    ("matmul broadcast 4x3", lambda L, a, b: a @ b, [Grad(f64(2, 5, 2, 3)), Grad(f64(1, 3, 4))],
     {}),
    ("matmul noncontig", lambda L, a, b: a @ b, [Grad(nc(f64(4, 3))), Grad(nc(f64(3, 5)))], {}),
    ("matmul rmatmul", lambda L, a, b: a.__rmatmul__(b), [Grad(f64(3, 4)), Grad(f64(2, 3))], {}),
    ("matmul empty", lambda L, a, b: a @ b, [Grad(f64(0, 3)), Grad(f64(3, 4))], {}),
    ("matmul empty inner", lambda L, a, b: a @ b, [Grad(f64(2, 0)), Grad(f64(0, 4))], {}),
    ("matmul empty batch", lambda L, a, b: a @ b, [Grad(f64(0, 2, 3)), Grad(f64(3, 4))], {}),
    ("matmul int64", lambda L, a, b: a @ b, [i64(2, 3), i64(3, 4)], {}),
    ("matmul int64 batched", lambda L, a, b: a @ b, [i64(2, 2, 3), i64(3, 4)], {}),
    ("matmul bfloat16", lambda L, a, b: a @ b, [Grad(bf16(2, 3)), Grad(bf16(3, 4))], {}),
    ("matmul float16 batched", lambda L, a, b: a @ b, [Grad(f16(2, 2, 3)), Grad(f16(2, 3, 4))],
     {}),
    ("matmul float32 large", lambda L, a, b: a @ b, [f32(16, 32), f32(32, 8)],
     {"rtol": 1e-4, "atol": 1e-4}),
    ("matmul 0-dim", lambda L, a, b: L.matmul(a, b), [f64(), f64(3)], {}),
    ("matmul 1x1 mismatch", lambda L, a, b: a @ b, [f64(3), f64(4)], {}),
    ("matmul 2x1 mismatch", lambda L, a, b: a @ b, [f64(2, 3), f64(4)], {}),
    ("matmul 1x2 mismatch", lambda L, a, b: a @ b, [f64(3), f64(4, 2)], {}),
    ("matmul 3x2 mismatch", lambda L, a, b: a @ b, [f64(5, 2, 3), f64(4, 2)], {}),
    ("matmul 3x3 mismatch", lambda L, a, b: a @ b, [f64(5, 2, 3), f64(5, 4, 2)], {}),
    ("matmul batch mismatch", lambda L, a, b: a @ b, [f64(5, 2, 3), f64(4, 3, 2)], {}),
    ("matmul dtype mismatch", lambda L, a, b: a @ b, [f64(2, 3), f32(3, 4)], {}),
    ("matmul dtype mismatch batched", lambda L, a, b: a @ b, [f64(2, 2, 3), f32(2, 3, 4)], {}),
    ("matmul bool", lambda L, a, b: a @ b, [np.ones((2, 3), bool), np.ones((3, 2), bool)], {}),
    ("matmul not tensor", lambda L, a: L.matmul(a, 2.0), [f64(2, 3)], {}),
    # ---- mm / bmm / mv / dot / vdot
    ("mm", lambda L, a, b: L.mm(a, b), [Grad(f64(2, 3)), Grad(f64(3, 4))], {}),
    ("mm method noncontig", lambda L, a, b: a.mm(b), [Grad(nc(f32(3, 2))), Grad(f32(2, 4))], {}),
    ("mm 3-D", lambda L, a, b: L.mm(a, b), [f64(2, 2, 3), f64(3, 4)], {}),
    ("mm shapes", lambda L, a, b: L.mm(a, b), [f64(2, 3), f64(4, 5)], {"exc_message": True}),
    ("mm dtypes", lambda L, a, b: L.mm(a, b), [f64(2, 3), f32(3, 4)], {"exc_message": True}),
    ("bmm", lambda L, a, b: L.bmm(a, b), [Grad(f64(3, 2, 4)), Grad(f64(3, 4, 5))], {}),
    ("bmm empty", lambda L, a, b: a.bmm(b), [Grad(f64(0, 2, 4)), Grad(f64(0, 4, 5))], {}),
    ("bmm 2-D", lambda L, a, b: L.bmm(a, b), [f64(2, 3), f64(3, 4)], {"exc_message": True}),
    ("bmm batch mismatch", lambda L, a, b: L.bmm(a, b), [f64(2, 2, 3), f64(3, 3, 4)],
     {"exc_message": True}),
    ("bmm dtypes", lambda L, a, b: L.bmm(a, b), [f64(2, 2, 3), f32(2, 3, 4)],
     {"exc_message": True}),
    ("mv", lambda L, a, b: L.mv(a, b), [Grad(f64(2, 3)), Grad(f64(3))], {}),
    ("mv method", lambda L, a, b: a.mv(b), [Grad(f32(4, 3)), Grad(f32(3))], {}),
    ("mv mismatch", lambda L, a, b: L.mv(a, b), [f64(2, 3), f64(4)], {"exc_message": True}),
    ("mv 1-D", lambda L, a, b: L.mv(a, b), [f64(3), f64(3)], {"exc_message": True}),
    ("dot", lambda L, a, b: L.dot(a, b), [Grad(f64(5)), Grad(f64(5))], {}),
    ("dot empty", lambda L, a, b: L.dot(a, b), [Grad(f64(0)), Grad(f64(0))], {}),
    ("dot int", lambda L, a, b: a.dot(b), [i64(4), i64(4)], {}),
    ("dot 2-D", lambda L, a, b: L.dot(a, b), [f64(3, 1), f64(3)], {"exc_message": True}),
    ("dot dtypes", lambda L, a, b: L.dot(a, b), [f64(3), f32(3)], {"exc_message": True}),
    ("vdot", lambda L, a, b: L.vdot(a, b), [Grad(f64(5)), Grad(f64(5))], {}),
    ("vdot mismatch", lambda L, a, b: L.vdot(a, b), [f64(3), f64(4)], {"exc_message": True}),
    # ---- inner / outer / ger
    ("inner 1-D", lambda L, a, b: L.inner(a, b), [Grad(f64(3)), Grad(f64(3))], {}),
    ("inner N-D", lambda L, a, b: L.inner(a, b), [Grad(f64(2, 3)), Grad(f64(4, 5, 3))], {}),
    ("inner 0-dim", lambda L, a, b: L.inner(a, b), [Grad(f64()), Grad(f64(2, 3))], {}),
    ("inner mismatch", lambda L, a, b: L.inner(a, b), [f64(2, 3), f64(4)], {"exc_message": True}),
    ("outer", lambda L, a, b: L.outer(a, b), [Grad(f64(2)), Grad(f64(3))], {}),
    ("outer promotes", lambda L, a, b: L.outer(a, b), [i64(3), Grad(f32(2))], {}),
    ("ger", lambda L, a, b: a.ger(b), [Grad(f32(4)), Grad(f32(3))], {}),
    ("outer 2-D", lambda L, a, b: L.outer(a, b), [f64(3, 1), f64(3)], {"exc_message": True}),
    # ---- addmm family
    ("addmm", lambda L, c, a, b: L.addmm(c, a, b), [Grad(f64(2, 4)), Grad(f64(2, 3)),
                                                    Grad(f64(3, 4))], {}),
    ("addmm broadcast beta alpha", lambda L, c, a, b: L.addmm(c, a, b, beta=0.5, alpha=-2),
     [Grad(f64(4)), Grad(f64(2, 3)), Grad(f64(3, 4))], {}),
    ("addmm beta 0 ignores nan", lambda L, c, a, b: L.addmm(c, a, b, beta=0),
     [np.full((2, 4), np.nan), Grad(f64(2, 3)), Grad(f64(3, 4))], {}),
    ("addmm method float32", lambda L, c, a, b: c.addmm(a, b, alpha=3),
     [Grad(f32(1, 4)), Grad(f32(2, 3)), Grad(f32(3, 4))], {}),
    ("addmm shape", lambda L, c, a, b: L.addmm(c, a, b), [f64(2, 5), f64(2, 3), f64(3, 4)],
     {"exc_message": True}),
    ("addmm dtype", lambda L, c, a, b: L.addmm(c, a, b), [f32(2, 4), f64(2, 3), f64(3, 4)],
     {"exc_message": True}),
    ("addmm_", lambda L, c, a, b: c.clone().addmm_(a, b, beta=2), [Grad(f64(2, 4)),
                                                                    Grad(f64(2, 3)),
                                                                    Grad(f64(3, 4))], {}),
    ("addmv", lambda L, c, a, b: L.addmv(c, a, b, beta=2, alpha=0.5),
     [Grad(f64(2)), Grad(f64(2, 3)), Grad(f64(3))], {}),
    ("addmv scalar input", lambda L, c, a, b: L.addmv(c, a, b), [Grad(f64()), Grad(f64(2, 3)),
                                                                 Grad(f64(3))], {}),
    ("addmv shape", lambda L, c, a, b: L.addmv(c, a, b), [f64(3), f64(2, 3), f64(3)],
     {"exc_message": True}),
    ("addbmm", lambda L, c, a, b: L.addbmm(c, a, b, alpha=2),
     [Grad(f64(2, 4)), Grad(f64(5, 2, 3)), Grad(f64(5, 3, 4))], {}),
    ("addbmm batches", lambda L, c, a, b: L.addbmm(c, a, b), [f64(2, 4), f64(5, 2, 3),
                                                             f64(4, 3, 4)], {"exc_message": True}),
    ("baddbmm", lambda L, c, a, b: L.baddbmm(c, a, b, beta=0.5),
     [Grad(f64(5, 2, 4)), Grad(f64(5, 2, 3)), Grad(f64(5, 3, 4))], {}),
    ("baddbmm broadcast", lambda L, c, a, b: c.baddbmm(a, b), [Grad(f32(2, 4)), Grad(f32(5, 2, 3)),
                                                               Grad(f32(5, 3, 4))], {}),
    ("baddbmm shape", lambda L, c, a, b: L.baddbmm(c, a, b), [f64(5, 2, 5), f64(5, 2, 3),
                                                             f64(5, 3, 4)], {"exc_message": True}),
    ("addr", lambda L, c, a, b: L.addr(c, a, b, beta=2, alpha=3),
     [Grad(f64(2, 3)), Grad(f64(2)), Grad(f64(3))], {}),
    ("addr broadcast", lambda L, c, a, b: c.addr(a, b), [Grad(f64(3)), Grad(f64(2)),
                                                         Grad(f64(3))], {}),
    ("addr shape", lambda L, c, a, b: L.addr(c, a, b), [f64(3, 3), f64(2), f64(3)],
     {"exc_message": True}),
    # ---- einsum
    ("einsum matmul", lambda L, a, b: L.einsum("ij,jk->ik", a, b), [Grad(f64(2, 3)),
                                                                    Grad(f64(3, 4))], {}),
    ("einsum implicit", lambda L, a, b: L.einsum("ij,jk", a, b), [Grad(f64(2, 3)),
                                                                  Grad(f64(3, 4))], {}),
    ("einsum implicit order", lambda L, a, b: L.einsum("ba,ca", a, b), [Grad(f64(2, 3)),
                                                                       Grad(f64(4, 3))], {}),
    ("einsum trace", lambda L, a: L.einsum("ii", a), [Grad(f64(3, 3))], {}),
    ("einsum diagonal", lambda L, a: L.einsum("ii->i", a), [Grad(f64(3, 3))], {}),
    ("einsum batch diag", lambda L, a: L.einsum("bii->bi", a), [Grad(f64(2, 3, 3))], {}),
    ("einsum sum all", lambda L, a: L.einsum("ij->", a), [Grad(f64(2, 3))], {}),
    ("einsum transpose", lambda L, a: L.einsum("ij->ji", a), [Grad(f64(2, 3))], {}),
    ("einsum outer", lambda L, a, b: L.einsum("i,j->ij", a, b), [Grad(f64(2)), Grad(f64(3))], {}),
    ("einsum bmm", lambda L, a, b: L.einsum("bij,bjk->bik", a, b),
     [Grad(f32(2, 2, 3)), Grad(f32(2, 3, 4))], {}),
    ("einsum ellipsis", lambda L, a, b: L.einsum("...ij,...jk->...ik", a, b),
     [Grad(f64(2, 2, 3)), Grad(f64(3, 4))], {}),
    ("einsum ellipsis implicit", lambda L, a: L.einsum("...ij", a), [Grad(f64(2, 2, 3))], {}),
    ("einsum ellipsis middle", lambda L, a: L.einsum("i...j->j...i", a), [Grad(f64(2, 4, 3))],
     {}),
    ("einsum three operands", lambda L, a, b, c: L.einsum("ij,jk,kl->il", a, b, c),
     [Grad(f64(2, 3)), Grad(f64(3, 4)), Grad(f64(4, 2))], {}),
    ("einsum broadcast size 1", lambda L, a, b: L.einsum("ij,ij->i", a, b),
     [Grad(f64(2, 1)), Grad(f64(2, 3))], {}),
    ("einsum list operands", lambda L, a, b: L.einsum("i,i->", [a, b]), [Grad(f64(3)),
                                                                        Grad(f64(3))], {}),
    ("einsum sublist", lambda L, a, b: L.einsum(a, [0, 1], b, [1, 2], [0, 2]),
     [Grad(f64(2, 3)), Grad(f64(3, 4))], {}),
    ("einsum spaces", lambda L, a, b: L.einsum("ij, jk -> ik", a, b), [Grad(f64(2, 3)),
                                                                       Grad(f64(3, 4))], {}),
    ("einsum 0-dim", lambda L, a, b: L.einsum(",i->i", a, b), [Grad(f64()), Grad(f64(3))], {}),
    ("einsum empty", lambda L, a, b: L.einsum("ij,jk->ik", a, b), [Grad(f64(0, 3)),
                                                                   Grad(f64(3, 4))], {}),
    ("einsum int", lambda L, a, b: L.einsum("ij,jk->ik", a, b), [i64(2, 3), i64(3, 4)], {}),
    ("einsum bfloat16", lambda L, a, b: L.einsum("ij,jk->ik", a, b), [Grad(bf16(2, 3)),
                                                                      Grad(bf16(3, 4))], {}),
    ("einsum noncontig", lambda L, a, b: L.einsum("ij,kj->ik", a, b),
     [Grad(nc(f64(3, 2))), Grad(nc(f64(3, 4)))], {}),
    ("einsum size mismatch", lambda L, a, b: L.einsum("ij,jk->ik", a, b), [f64(2, 3), f64(4, 5)],
     {"exc_message": True}),
    ("einsum too few operands", lambda L, a: L.einsum("ij,jk->ik", a), [f64(2, 3)],
     {"exc_message": True}),
    ("einsum wrong ndim", lambda L, a, b: L.einsum("ijk,jk->ik", a, b), [f64(2, 3), f64(3, 4)],
     {"exc_message": True}),
    ("einsum output repeated", lambda L, a: L.einsum("ij->ii", a), [f64(2, 2)], {}),
    ("einsum output unknown", lambda L, a: L.einsum("ij->k", a), [f64(2, 2)], {}),
    ("einsum dtypes", lambda L, a, b: L.einsum("ij,jk", a, b), [f64(2, 3), f32(3, 4)], {}),
    # ---- tensordot / kron
    ("tensordot int", lambda L, a, b: L.tensordot(a, b, dims=1), [Grad(f64(2, 3)),
                                                                  Grad(f64(3, 4))], {}),
    ("tensordot default", lambda L, a, b: L.tensordot(a, b), [Grad(f64(2, 3, 4)),
                                                              Grad(f64(3, 4, 5))], {}),
    ("tensordot lists", lambda L, a, b: L.tensordot(a, b, dims=([1, 0], [0, 2])),
     [Grad(f64(3, 4, 5)), Grad(f64(4, 2, 3))], {}),
    ("tensordot 0", lambda L, a, b: L.tensordot(a, b, dims=0), [Grad(f64(2)), Grad(f64(3))], {}),
    ("tensordot negative dims", lambda L, a, b: L.tensordot(a, b, dims=([-1], [-2])),
     [Grad(f32(2, 3)), Grad(f32(3, 4))], {}),
    ("tensordot mismatch", lambda L, a, b: L.tensordot(a, b, dims=1), [f64(2, 3), f64(4, 5)],
     {"exc_message": True}),
    ("tensordot dtypes", lambda L, a, b: L.tensordot(a, b, dims=1), [f64(2, 3), f32(3, 5)],
     {"exc_message": True}),
    ("kron", lambda L, a, b: L.kron(a, b), [Grad(f64(2, 3)), Grad(f64(3, 2))], {}),
    ("kron ndim differs", lambda L, a, b: L.kron(a, b), [Grad(f64(2)), Grad(f64(2, 3, 2))], {}),
    ("kron promotes", lambda L, a, b: a.kron(b), [i64(2, 2), Grad(f32(2, 3))], {}),
    ("kron 0-dim", lambda L, a, b: L.kron(a, b), [Grad(f64()), Grad(f64(2, 3))], {}),
    # ---- cross / trace
    ("linalg.cross", lambda L, a, b: L.linalg.cross(a, b), [Grad(f64(4, 3)), Grad(f64(4, 3))],
     {}),
    ("linalg.cross dim", lambda L, a, b: L.linalg.cross(a, b, dim=0),
     [Grad(f64(3, 2)), Grad(f64(3, 2))], {}),
    ("linalg.cross broadcast", lambda L, a, b: L.linalg.cross(a, b),
     [Grad(f64(2, 1, 3)), Grad(f64(1, 4, 3))], {}),
    ("linalg.cross int", lambda L, a, b: L.linalg.cross(a, b), [i64(2, 3), i64(2, 3)], {}),
    ("linalg.cross length", lambda L, a, b: L.linalg.cross(a, b), [f64(2, 4), f64(2, 4)],
     {"exc_message": True}),
    ("linalg.cross broadcast error", lambda L, a, b: L.linalg.cross(a, b), [f64(2, 3), f64(4, 3)],
     {"exc_message": True}),
    ("cross dim", lambda L, a, b: L.cross(a, b, dim=1), [Grad(f32(2, 3)), Grad(f32(2, 3))], {}),
    ("cross method negative dim", lambda L, a, b: a.cross(b, dim=-2),
     [Grad(f64(3, 3)), Grad(nc(f64(3, 3)))], {}),
    ("trace", lambda L, a: L.trace(a), [Grad(f64(3, 4))], {}),
    ("trace method", lambda L, a: a.trace(), [Grad(f32(4, 4))], {}),
    ("trace int", lambda L, a: L.trace(a), [i64(3, 3).astype(np.int32)], {}),
    ("trace empty", lambda L, a: L.trace(a), [Grad(f64(0, 3))], {}),
    ("trace 3-D", lambda L, a: L.trace(a), [f64(2, 3, 3)], {"exc_message": True}),
    # ---- multi_dot / chain_matmul
    ("multi_dot", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]),
     [Grad(f64(2, 30)), Grad(f64(30, 4)), Grad(f64(4, 20))], {}),
    ("multi_dot vectors", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]),
     [Grad(f64(3)), Grad(f64(3, 4)), Grad(f64(4))], {}),
    ("multi_dot first vector", lambda L, a, b: L.linalg.multi_dot([a, b]),
     [Grad(f64(3)), Grad(f64(3, 4))], {}),
    ("multi_dot one", lambda L, a: L.linalg.multi_dot([a]), [f64(2, 3)], {"exc_message": True}),
    ("multi_dot shapes", lambda L, a, b: L.linalg.multi_dot([a, b]), [f64(2, 3), f64(4, 3)],
     {"exc_message": True}),
    ("multi_dot 3-D", lambda L, a, b: L.linalg.multi_dot([a, b]), [f64(2, 3), f64(2, 3, 3)],
     {"exc_message": True}),
    ("chain_matmul", lambda L, a, b, c: L.chain_matmul(a, b, c),
     [Grad(f64(2, 3)), Grad(f64(3, 4)), Grad(f64(4, 5))], {}),
    # ---- inv / det / slogdet / logdet
    ("inv", lambda L, a: L.linalg.inv(a), [Grad(well(3, 3))], {}),
    ("inv batched", lambda L, a: L.linalg.inv(a), [Grad(well(2, 3, 3))], {}),
    ("inv float32", lambda L, a: L.linalg.inv(a), [Grad(well(4, 4, dtype=np.float32))],
     {"rtol": 1e-4, "atol": 1e-5}),
    ("inv noncontig", lambda L, a: L.linalg.inv(a), [Grad(nc(well(3, 3)))], {}),
    ("inv empty", lambda L, a: L.linalg.inv(a), [Grad(f64(0, 0))], {}),
    ("inverse", lambda L, a: L.inverse(a), [Grad(well(3, 3))], {}),
    ("inverse method", lambda L, a: a.inverse(), [Grad(well(2, 2, 2))], {}),
    ("inv not square", lambda L, a: L.linalg.inv(a), [f64(2, 3)], {"exc_message": True}),
    ("inv 1-D", lambda L, a: L.linalg.inv(a), [f64(3)], {"exc_message": True}),
    ("inv int", lambda L, a: L.linalg.inv(a), [i64(3, 3)], {"exc_message": True}),
    ("inv half", lambda L, a: L.linalg.inv(a), [f16(3, 3)], {"exc_message": True}),
    ("det", lambda L, a: L.linalg.det(a), [Grad(f64(3, 3))], {}),
    ("det batched", lambda L, a: L.det(a), [Grad(f64(2, 4, 4))], {}),
    ("det method float32", lambda L, a: a.det(), [Grad(well(3, 3, dtype=np.float32))],
     {"rtol": 1e-4}),
    ("det singular grad", lambda L, a: L.linalg.det(a),
     [Grad(np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]]))], {}),
    ("det empty", lambda L, a: L.linalg.det(a), [Grad(f64(2, 0, 0))], {}),
    ("det not square", lambda L, a: L.linalg.det(a), [f64(2, 3)], {"exc_message": True}),
    ("slogdet", lambda L, a: L.linalg.slogdet(a), [Grad(f64(3, 3))], {}),
    ("slogdet batched", lambda L, a: L.slogdet(a), [Grad(f64(3, 2, 2))], {}),
    ("slogdet method", lambda L, a: a.slogdet(), [Grad(well(3, 3))], {}),
    ("logdet", lambda L, a: L.logdet(a), [Grad(spd(3, 3))], {}),
    ("logdet negative and zero", lambda L, a: L.logdet(a),
     [np.stack([-np.eye(3), np.zeros((3, 3)), 2 * np.eye(3)])], {}),
    ("logdet method", lambda L, a: a.logdet(), [Grad(spd(2, 3, 3))], {}),
    # ---- solve
    ("solve", lambda L, a, b: L.linalg.solve(a, b), [Grad(well(3, 3)), Grad(f64(3, 2))], {}),
    # the _ex forms: info 0 and gradients where invertible; a singular matrix gives LAPACK's
    # zero-pivot index and the infinities of LU with that pivot, without raising
    ("inv_ex", lambda L, a: L.linalg.inv_ex(a), [Grad(well(2, 3, 3))], {}),
    ("solve_ex", lambda L, a, b: L.linalg.solve_ex(a, b), [Grad(well(3, 3)), Grad(f64(3, 2))], {}),
    ("inv_ex singular", lambda L, a: L.linalg.inv_ex(a),
     [np.stack([2 * np.eye(2), [[1.0, 2.0], [2.0, 4.0]]])], {}),
    ("solve_ex singular", lambda L, a, b: L.linalg.solve_ex(a, b),
     [np.array([[1.0, 2.0], [2.0, 4.0]]), np.ones((2, 3))], {}),
    ("solve_ex singular right", lambda L, a, b: L.linalg.solve_ex(a, b, left=False),
     [np.array([[1.0, 2.0], [2.0, 4.0]]), np.ones((1, 2))], {}),
    ("solve_ex singular vector", lambda L, a, b: L.linalg.solve_ex(a, b),
     [np.array([[1.0, 2.0], [2.0, 4.0]]), np.ones(2)], {}),
    ("solve vector", lambda L, a, b: L.linalg.solve(a, b), [Grad(well(3, 3)), Grad(f64(3))], {}),
    ("solve batched vector", lambda L, a, b: L.linalg.solve(a, b),
     [Grad(well(2, 3, 3)), Grad(f64(2, 3))], {}),
    ("solve broadcast", lambda L, a, b: L.linalg.solve(a, b),
     [Grad(well(2, 1, 3, 3)), Grad(f64(4, 3, 2))], {}),
    ("solve left False", lambda L, a, b: L.linalg.solve(a, b, left=False),
     [Grad(well(3, 3)), Grad(f64(2, 3))], {}),
    ("solve float32", lambda L, a, b: L.linalg.solve(a, b),
     [Grad(well(3, 3, dtype=np.float32)), Grad(f32(3, 2))], {"rtol": 1e-4, "atol": 1e-5}),
    ("solve shapes", lambda L, a, b: L.linalg.solve(a, b), [well(3, 3), f64(4, 2)],
     {"exc_message": True}),
    ("solve dtypes", lambda L, a, b: L.linalg.solve(a, b), [well(3, 3), f32(3)],
     {"exc_message": True}),
    # ---- cholesky
    ("cholesky", lambda L, x: L.linalg.cholesky(spd_of(L, x)), [Grad(f64(3, 3))], {}),
    ("cholesky batched", lambda L, x: L.linalg.cholesky(spd_of(L, x)), [Grad(f64(2, 4, 4))], {}),
    ("cholesky upper", lambda L, x: L.linalg.cholesky(spd_of(L, x), upper=True),
     [Grad(f64(3, 3))], {}),
    ("cholesky direct", lambda L, a: L.linalg.cholesky(a), [Grad(spd(3, 3))], {}),
    ("cholesky float32", lambda L, a: L.linalg.cholesky(a), [Grad(spd(3, 3, dtype=np.float32))],
     {"rtol": 1e-4, "atol": 1e-5}),
    ("torch.cholesky", lambda L, x: L.cholesky(spd_of(L, x)), [Grad(f64(3, 3))], {}),
    ("cholesky_ex", lambda L, a: L.linalg.cholesky_ex(a), [Grad(spd(3, 3))], {}),
    # not positive-definite: info names the failing leading minor, L is LAPACK's partial factor
    ("cholesky_ex not pd", lambda L: L.linalg.cholesky_ex(L.tensor(
        [[[4.0, 2.0, 1.0], [2.0, 1.0, 3.0], [1.0, 3.0, 2.0]],
         [[4.0, 2.0, 1.0], [2.0, 5.0, 3.0], [1.0, 3.0, -2.0]],
         [[4.0, 2.0, 1.0], [2.0, 5.0, 3.0], [1.0, 3.0, 9.0]]], dtype=L.float64)), [], {}),
    ("cholesky_ex not pd upper", lambda L: L.linalg.cholesky_ex(L.tensor(
        [[1.0, 2.0], [2.0, 1.0]], dtype=L.float64), upper=True), [], {}),
    ("cholesky not square", lambda L, a: L.linalg.cholesky(a), [f64(2, 3)], {"exc_message": True}),
    # ---- qr
    ("qr", lambda L, a: L.linalg.qr(a), [Grad(f64(4, 3))], {}),
    ("qr square", lambda L, a: L.linalg.qr(a), [Grad(f64(3, 3))], {}),
    ("qr wide", lambda L, a: L.linalg.qr(a), [Grad(f64(3, 5))], {}),
    ("qr batched", lambda L, a: L.linalg.qr(a), [Grad(f64(2, 4, 3))], {}),
    ("qr complete", lambda L, a: L.linalg.qr(a, mode="complete"), [f64(4, 3)], {}),
    ("qr complete wide", lambda L, a: L.linalg.qr(a, mode="complete"), [Grad(f64(3, 4))], {}),
    ("qr r", lambda L, a: L.linalg.qr(a, mode="r"), [f64(4, 3)], {}),
    ("qr float32", lambda L, a: L.linalg.qr(a), [Grad(f32(4, 3))], {"rtol": 1e-4, "atol": 1e-5}),
    ("torch.qr", lambda L, a: L.qr(a), [Grad(f64(4, 3))], {}),
    ("qr bad mode", lambda L, a: L.linalg.qr(a, mode="foo"), [f64(3, 3)], {"exc_message": True}),
    # ---- svd / svdvals
    ("svd", lambda L, a: usv(L, a, full_matrices=False), [Grad(f64(3, 3))], {}),
    ("svd tall", lambda L, a: usv(L, a, full_matrices=False), [Grad(f64(5, 3))], {}),
    ("svd wide batched", lambda L, a: usv(L, a, full_matrices=False), [Grad(f64(2, 3, 5))], {}),
    ("svd full", lambda L, a: usv(L, a), [Grad(f64(4, 3))], {}),
    ("svd float32", lambda L, a: usv(L, a, full_matrices=False), [Grad(f32(4, 3))],
     {"rtol": 1e-4, "atol": 1e-4}),
    ("svdvals", lambda L, a: L.linalg.svdvals(a), [Grad(f64(2, 4, 3))], {}),
    ("torch.svd", lambda L, a: (lambda U, S, V: ((U * S) @ V.mT, S))(*L.svd(a)),
     [Grad(f64(4, 3))], {}),
    ("svd empty", lambda L, a: L.linalg.svdvals(a), [f64(0, 3)], {}),
    # ---- eigh / eigvalsh / eig
    ("eigh", lambda L, a: eigh_parts(L, a), [Grad(f64(3, 3))], {}),
    ("eigh batched", lambda L, a: eigh_parts(L, a), [Grad(f64(2, 4, 4))], {}),
    ("eigh upper", lambda L, a: L.linalg.eigh(a, UPLO="U")[0], [Grad(f64(3, 3))], {}),
    ("eigh float32", lambda L, a: eigh_parts(L, a), [Grad(f32(3, 3))],
     {"rtol": 1e-4, "atol": 1e-4}),
    ("eigvalsh", lambda L, a: L.linalg.eigvalsh(sym_of(L, a)), [Grad(f64(2, 3, 3))], {}),
    ("eigvalsh upper", lambda L, a: L.linalg.eigvalsh(a, UPLO="U"), [Grad(f64(3, 3))], {}),
    ("eigh not square", lambda L, a: L.linalg.eigh(a), [f64(2, 3)], {"exc_message": True}),
    ("eigvals", lambda L, a: L.linalg.eigvals(a).abs().sort().values,
     [np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, -1.0]])], {}),
    ("eig sym", lambda L, a: L.linalg.eig(a)[0].abs().sort().values, [sym(4, 4)], {}),
    # ---- pinv / lstsq
    ("pinv", lambda L, a: L.linalg.pinv(a), [Grad(f64(4, 3))], {}),
    ("pinv wide batched", lambda L, a: L.linalg.pinv(a), [Grad(f64(2, 3, 5))], {}),
    ("pinv rank deficient", lambda L, a: L.linalg.pinv(a),
     [np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]])], {}),
    ("pinv hermitian", lambda L, a: L.linalg.pinv(a, hermitian=True), [spd(3, 3)], {}),
    ("pinv atol", lambda L, a: L.linalg.pinv(a, atol=1.0), [f64(3, 3)], {}),
    ("pinverse", lambda L, a: L.pinverse(a), [Grad(f64(3, 4))], {}),
    ("lstsq", lambda L, a, b: L.linalg.lstsq(a, b)[:3], [Grad(f64(5, 3)), Grad(f64(5, 2))], {}),
    ("lstsq batched", lambda L, a, b: L.linalg.lstsq(a, b).solution,
     [Grad(f64(2, 5, 3)), Grad(f64(2, 5, 2))], {}),
    ("lstsq gelsd", lambda L, a, b: L.linalg.lstsq(a, b, driver="gelsd"),
     [f64(5, 3), f64(5, 2)], {}),
    # ---- matrix_power / matrix_rank / norm / cond / vecdot
    ("matrix_power 3", lambda L, a: L.linalg.matrix_power(a, 3), [Grad(f64(3, 3))], {}),
    ("matrix_power 0", lambda L, a: L.linalg.matrix_power(a, 0), [f64(2, 3, 3)], {}),
    ("matrix_power 1", lambda L, a: L.matrix_power(a, 1), [Grad(f64(3, 3))], {}),
    ("matrix_power -2", lambda L, a: L.linalg.matrix_power(a, -2), [Grad(well(2, 3, 3))], {}),
    ("matrix_power int", lambda L, a: L.linalg.matrix_power(a, 5), [i64(3, 3)], {}),
    ("matrix_power method", lambda L, a: a.matrix_power(6), [Grad(0.3 * f64(3, 3))], {}),
    ("matrix_power not square", lambda L, a: L.linalg.matrix_power(a, 2), [f64(2, 3)],
     {"exc_message": True}),
    ("matrix_rank", lambda L, a: L.linalg.matrix_rank(a),
     [np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]])], {}),
    ("matrix_rank batched", lambda L, a: L.linalg.matrix_rank(a), [f64(2, 3, 4)], {}),
    ("matrix_rank hermitian", lambda L, a: L.linalg.matrix_rank(a, hermitian=True), [spd(3, 3)],
     {}),
    ("norm vector", lambda L, a: L.linalg.norm(a), [Grad(f64(5))], {}),
    ("norm matrix fro", lambda L, a: L.linalg.norm(a), [Grad(f64(3, 4))], {}),
    ("norm ord matrix", lambda L, a: L.linalg.norm(a, ord=1), [Grad(f64(3, 4))], {}),
    ("norm dim", lambda L, a: L.linalg.norm(a, ord=3, dim=1), [Grad(f64(3, 4))], {}),
    ("cond", lambda L, a: L.linalg.cond(a), [Grad(well(3, 3))], {}),
    ("cond 1", lambda L, a: L.linalg.cond(a, 1), [well(3, 3)], {}),
    ("vecdot", lambda L, a, b: L.linalg.vecdot(a, b), [Grad(f64(2, 3)), Grad(f64(3))], {}),
]


@pytest.mark.parametrize("name,fn,inputs,kw", CASES, ids=[c[0] for c in CASES])
def test_against_torch(name, fn, inputs, kw):
    check(fn, *inputs, **kw)


# ---------------------------------------------------------------------------- gradcheck

GRAD_CASES = [
    ("mm", lambda a, b: a.mm(b), [(2, 3), (3, 4)]),
    ("bmm", lambda a, b: a.bmm(b), [(2, 2, 3), (2, 3, 2)]),
    ("mv", lambda a, b: a.mv(b), [(2, 3), (3,)]),
    ("dot", lambda a, b: a.dot(b), [(3,), (3,)]),
    ("vdot", lambda a, b: a.vdot(b), [(3,), (3,)]),
    ("matmul broadcast", lambda a, b: a @ b, [(2, 1, 2, 3), (3, 3, 2)]),
    ("matmul 1x3", lambda a, b: a @ b, [(3,), (2, 3, 2)]),
    ("addmm", lambda c, a, b: ember.addmm(c, a, b, beta=0.5, alpha=2), [(2,), (2, 3), (3, 2)]),
    ("addmv", lambda c, a, b: ember.addmv(c, a, b, beta=0.5, alpha=2), [(2,), (2, 3), (3,)]),
    ("addbmm", lambda c, a, b: ember.addbmm(c, a, b, alpha=2), [(2, 2), (3, 2, 3), (3, 3, 2)]),
    ("baddbmm", lambda c, a, b: ember.baddbmm(c, a, b, beta=2), [(3, 2, 2), (3, 2, 3), (3, 3, 2)]),
    ("addr", lambda c, a, b: ember.addr(c, a, b, alpha=3), [(2, 3), (2,), (3,)]),
    ("einsum", lambda a, b: ember.einsum("bij,jk->bki", a, b), [(2, 2, 3), (3, 2)]),
    ("einsum diagonal", lambda a: ember.einsum("iij->ij", a), [(3, 3, 2)]),
    ("einsum summed alone", lambda a, b: ember.einsum("ij,k->k", a, b), [(2, 3), (4,)]),
    ("tensordot", lambda a, b: ember.tensordot(a, b, dims=([0, 2], [1, 0])), [(2, 3, 4), (4, 2)]),
    ("kron", lambda a, b: ember.kron(a, b), [(2, 2), (2, 3)]),
    ("cross", lambda a, b: ember.linalg.cross(a, b), [(2, 3), (1, 3)]),
    ("trace", lambda a: ember.trace(a), [(3, 4)]),
    ("multi_dot", lambda a, b, c: ember.linalg.multi_dot([a, b, c]), [(3,), (3, 2), (2, 4)]),
    ("inv", lambda a: ember.linalg.inv(a + 3 * ember.eye(3, dtype=a.dtype)), [(2, 3, 3)]),
    ("det", lambda a: ember.linalg.det(a), [(2, 3, 3)]),
    ("slogdet", lambda a: ember.linalg.slogdet(a).logabsdet, [(3, 3)]),
    ("logdet", lambda a: ember.logdet(a @ a.mT + ember.eye(3, dtype=a.dtype)), [(3, 3)]),
    ("solve", lambda a, b: ember.linalg.solve(a + 3 * ember.eye(3, dtype=a.dtype), b),
     [(3, 3), (2, 3, 2)]),
    ("cholesky", lambda a: ember.linalg.cholesky(a @ a.mT + ember.eye(3, dtype=a.dtype)),
     [(3, 3)]),
    ("cholesky upper", lambda a: ember.linalg.cholesky(a @ a.mT + ember.eye(3, dtype=a.dtype),
                                                       upper=True), [(3, 3)]),
    ("qr tall", lambda a: ember.linalg.qr(a), [(4, 3)]),
    ("qr wide", lambda a: ember.linalg.qr(a), [(3, 4)]),
    ("svd", lambda a: (lambda U, S, Vh: (U.abs(), S, Vh.abs()))(
        *ember.linalg.svd(a, full_matrices=False)), [(4, 3)]),
    ("svdvals", lambda a: ember.linalg.svdvals(a), [(3, 4)]),
    ("eigh", lambda a: (lambda w, V: (w, V.abs()))(*ember.linalg.eigh(a + a.mT)), [(3, 3)]),
    ("eigvalsh", lambda a: ember.linalg.eigvalsh(a + a.mT), [(3, 3)]),
    ("pinv", lambda a: ember.linalg.pinv(a), [(4, 3)]),
    ("lstsq", lambda a, b: ember.linalg.lstsq(a, b).solution, [(4, 3), (4, 2)]),
    ("matrix_power", lambda a: ember.linalg.matrix_power(a + 3 * ember.eye(3, dtype=a.dtype), -2),
     [(3, 3)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck(name, fn, shapes):
    gen = np.random.default_rng(1)
    inputs = [ember.tensor(gen.standard_normal(s), dtype=ember.float64, requires_grad=True)
              for s in shapes]
    assert ember.autograd.gradcheck(fn, inputs)
    assert ember.autograd.gradgradcheck(fn, inputs)


# ---------------------------------------------------------------------------- node names

NAME_CASES = [
    (lambda L, a: L.matmul(a[0, 0], a[0, 0]), "DotBackward0"),
    (lambda L, a: L.matmul(a[0], a[0, 0]), "MvBackward0"),
    (lambda L, a: L.matmul(a[0], a[0]), "MmBackward0"),
    (lambda L, a: L.bmm(a, a), "BmmBackward0"),
    (lambda L, a: L.vdot(a[0, 0], a[0, 0]), "VdotBackward0"),
    (lambda L, a: L.outer(a[0, 0], a[0, 0]), "MulBackward0"),
    (lambda L, a: L.addmm(a[0], a[0], a[0]), "AddmmBackward0"),
    (lambda L, a: L.addmv(a[0, 0], a[0], a[0, 0]), "AddmvBackward0"),
    (lambda L, a: L.addbmm(a[0], a, a), "AddbmmBackward0"),
    (lambda L, a: L.baddbmm(a, a, a), "BaddbmmBackward0"),
    (lambda L, a: L.addr(a[0], a[0, 0], a[0, 0]), "AddrBackward0"),
    (lambda L, a: L.linalg.cross(a, a), "LinalgCrossBackward0"),
    (lambda L, a: L.trace(a[0]), "TraceBackward0"),
    (lambda L, a: L.linalg.inv(a), "LinalgInvExBackward0"),
    (lambda L, a: L.linalg.det(a), "LinalgDetBackward0"),
    (lambda L, a: L.linalg.slogdet(a)[1], "LinalgSlogdetBackward0"),
    (lambda L, a: L.linalg.solve(a, a), "LinalgSolveExBackward0"),
    (lambda L, a: L.linalg.cholesky(a @ a.mT), "LinalgCholeskyExBackward0"),
    (lambda L, a: L.linalg.qr(a)[0], "LinalgQrBackward0"),
    (lambda L, a: L.linalg.svd(a)[0], "LinalgSvdBackward0"),
    (lambda L, a: L.linalg.svdvals(a), "LinalgSvdBackward0"),
    (lambda L, a: L.linalg.eigh(a)[0], "LinalgEighBackward0"),
    (lambda L, a: L.linalg.eigvalsh(a), "LinalgEighBackward0"),
    (lambda L, a: L.linalg.pinv(a), "LinalgPinvBackward0"),
    (lambda L, a: L.linalg.lstsq(a, a).solution, "LinalgLstsqBackward0"),
    (lambda L, a: L.linalg.matrix_power(a[0], 2), "MmBackward0"),
]


@pytest.mark.parametrize("fn,expected", NAME_CASES, ids=[c[1] + str(i) for i, c in
                                                         enumerate(NAME_CASES)])
def test_node_names(fn, expected):
    arr = spd(2, 3, 3)
    t = fn(torch, torch.tensor(arr, requires_grad=True))
    e = fn(ember, ember.tensor(arr, requires_grad=True))
    assert t.grad_fn.name() == expected  # the table itself is right
    assert e.grad_fn.name() == expected


# ---------------------------------------------------------------------------- errors

SINGULAR = [
    (lambda L, a: L.linalg.inv(a), np.zeros((3, 3))),
    (lambda L, a: L.linalg.inv(a), np.stack([np.eye(3), np.zeros((3, 3))])),
    (lambda L, a: L.linalg.inv(a), np.array([[1.0, 2.0], [2.0, 4.0]])),
    (lambda L, a: L.linalg.solve(a, a[..., 0]), np.zeros((3, 3))),
    (lambda L, a: L.linalg.cholesky(a), -np.eye(3)),
    (lambda L, a: L.linalg.cholesky(a), np.stack([np.eye(3), np.diag([1.0, 1.0, -1.0])])),
    (lambda L, a: L.linalg.cholesky_ex(a, check_errors=True), np.array([[1.0, 2.0], [2.0, 1.0]])),
    (lambda L, a: L.linalg.inv_ex(a, check_errors=True), np.array([[1.0, 2.0], [2.0, 4.0]])),
]


@pytest.mark.parametrize("fn,arr", SINGULAR)
def test_linalg_error(fn, arr):
    with pytest.raises(torch.linalg.LinAlgError) as t:
        fn(torch, torch.tensor(arr))
    with pytest.raises(ember.linalg.LinAlgError) as e:
        fn(ember, ember.tensor(arr))
    assert isinstance(e.value, RuntimeError)
    assert str(e.value) == str(t.value).split("\n")[0]


def test_float32_stays_float32():
    a = ember.randn(4, 4)
    for r in (a @ a, ember.linalg.inv(a + 4 * ember.eye(4)), ember.linalg.svd(a)[1],
              ember.einsum("ij,jk", a, a), ember.linalg.det(a), ember.linalg.eigh(a + a.mT)[1]):
        assert r.dtype is ember.float32 and r._data.dtype == np.float32


def test_named_tuples():
    a = spd(3, 3)
    for name, fields in [("slogdet", ("sign", "logabsdet")), ("qr", ("Q", "R")),
                         ("svd", ("U", "S", "Vh")), ("eigh", ("eigenvalues", "eigenvectors")),
                         ("lstsq", ("solution", "residuals", "rank", "singular_values"))]:
        args = (ember.tensor(a),) * (2 if name == "lstsq" else 1)
        r = getattr(ember.linalg, name)(*args)
        assert type(r).__name__ == "linalg_" + name
        assert r._fields == fields
    assert ember.svd(ember.tensor(a))._fields == ("U", "S", "V")


def test_eig_gradient_matches_torch():
    """eigvals' gradient (more cases in tests/test_complex_grads.py)."""
    a = sym(3, 3)
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(a, requires_grad=True)
        lib.linalg.eigvals(x).abs().sum().backward()
        grads.append(x.grad.cpu().numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10, atol=1e-12)


def test_double_backward_through_matmul():
    a = ember.tensor(f64(3, 3), requires_grad=True)
    (g,) = ember.autograd.grad((a @ a).sum(), a, create_graph=True)
    (gg,) = ember.autograd.grad(g.pow(2).sum(), a)
    at = torch.tensor(a.detach().cpu().numpy(), requires_grad=True)
    (gt,) = torch.autograd.grad((at @ at).sum(), at, create_graph=True)
    (ggt,) = torch.autograd.grad(gt.pow(2).sum(), at)
    np.testing.assert_allclose(gg.cpu().numpy(), ggt.numpy(), rtol=1e-10)
