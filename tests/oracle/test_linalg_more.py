"""Triangular solves, LU, matrix_exp and the composed linalg functions against PyTorch:
values, dtypes, pivots, gradients (the `check` harness), float64 gradcheck and
gradgradcheck, node names and error messages."""
import warnings

import numpy as np
import pytest
import torch

import ember
from .harness import Grad, check

rng = np.random.default_rng(7)


def f64(*s):
    return rng.standard_normal(s)


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


def sym(*s):
    a = rng.standard_normal(s)
    return a + np.swapaxes(a, -1, -2)


def c128(*s):
    return rng.standard_normal(s) + 1j * rng.standard_normal(s)


def well(*s, dtype=np.float64):
    """Well-conditioned square matrices: random plus n on the diagonal."""
    return (rng.standard_normal(s) + s[-1] * np.eye(s[-1])).astype(dtype)


def chol(*s, dtype=np.float64):
    """Lower Cholesky factors of well-conditioned SPD matrices."""
    a = rng.standard_normal(s)
    return np.linalg.cholesky(a @ np.swapaxes(a, -1, -2) + s[-1] * np.eye(s[-1])).astype(dtype)


def st(L, a, b, **kw):
    return L.linalg.solve_triangular(a, b, **kw)


def lu_solve_of(L, a, b, **kw):
    """lu_solve on the factorization of a (a gradient flows into a through LU)."""
    LU, pivots = L.linalg.lu_factor(a)
    return L.linalg.lu_solve(LU, pivots, b, **kw)


def deprecated(fn):
    """torch warns that triangular_solve / lu / lu_solve are deprecated; ember does not."""
    def run(L, *args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(L, *args)
    return run


def parts(fn):
    """fn with complex outputs split into real and imaginary parts (the harness's
    gradient check needs real outputs)."""
    def run(L, *args):
        out = fn(L, *args)
        out = out if isinstance(out, tuple) else (out,)
        split = []
        for o in out:
            split.extend((o.real, o.imag) if o.is_complex() else (o,))
        return tuple(split)
    return run


SINGULAR = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])

# (name, fn(lib, *inputs), inputs, check keyword arguments)
CASES = [
    # ---- solve_triangular
    ("solve_triangular upper", lambda L, a, b: st(L, a, b, upper=True),
     [Grad(well(3, 3)), Grad(f64(3, 2))], {}),
    ("solve_triangular lower batched", lambda L, a, b: st(L, a, b, upper=False),
     [Grad(well(2, 4, 4)), Grad(f64(2, 4, 3))], {}),
    ("solve_triangular unitriangular", lambda L, a, b: st(L, a, b, upper=False,
                                                          unitriangular=True),
     [Grad(f64(3, 3)), Grad(f64(3, 2))], {}),
    ("solve_triangular right", lambda L, a, b: st(L, a, b, upper=True, left=False),
     [Grad(well(3, 3)), Grad(f64(2, 3))], {}),
    ("solve_triangular right unit lower", lambda L, a, b: st(L, a, b, upper=False, left=False,
                                                             unitriangular=True),
     [Grad(f64(2, 3, 3)), Grad(f64(2, 4, 3))], {}),
    ("solve_triangular broadcast", lambda L, a, b: st(L, a, b, upper=True),
     [Grad(well(2, 1, 3, 3)), Grad(f64(4, 3, 2))], {}),
    ("solve_triangular float32", lambda L, a, b: st(L, a, b, upper=True),
     [Grad(well(3, 3, dtype=np.float32)), Grad(f32(3, 2))], {"rtol": 1e-4, "atol": 1e-5}),
    ("solve_triangular complex", parts(lambda L, a, b: st(L, a, b, upper=False)),
     [Grad(c128(3, 3) + 3 * np.eye(3)), Grad(c128(3, 2))], {}),
    ("solve_triangular singular", lambda L, a, b: st(L, a, b, upper=True),
     [np.triu(SINGULAR), f64(3, 2)], {}),
    ("solve_triangular empty", lambda L, a, b: st(L, a, b, upper=True),
     [Grad(f64(0, 0)), Grad(f64(0, 2))], {}),
    ("solve_triangular B 1-D", lambda L, a, b: st(L, a, b, upper=True), [well(3, 3), f64(3)],
     {"exc_message": True}),
    ("solve_triangular shapes", lambda L, a, b: st(L, a, b, upper=True),
     [well(3, 3), f64(4, 2)], {"exc_message": True}),
    ("solve_triangular shapes right", lambda L, a, b: st(L, a, b, upper=True, left=False),
     [well(3, 3), f64(2, 4)], {"exc_message": True}),
    ("solve_triangular not square", lambda L, a, b: st(L, a, b, upper=True),
     [f64(3, 4), f64(3, 4)], {"exc_message": True}),
    ("solve_triangular dtypes", lambda L, a, b: st(L, a, b, upper=True),
     [Grad(well(3, 3)), Grad(f32(3, 2))], {}),
    ("solve_triangular dtypes float32 A", lambda L, a, b: st(L, a, b, upper=True),
     [Grad(well(3, 3, dtype=np.float32)), Grad(f64(3, 2))], {"rtol": 1e-4, "atol": 1e-5}),
    ("solve_triangular float16", lambda L, a, b: st(L, a, b, upper=True),
     [well(3, 3).astype(np.float16), f64(3, 2).astype(np.float16)], {"exc_message": True}),
    ("solve_triangular int", lambda L, a, b: st(L, a, b, upper=True),
     [np.eye(3, dtype=np.int64), np.ones((3, 2), np.int64)], {}),
    ("solve_triangular batch mismatch", lambda L, a, b: st(L, a, b, upper=True),
     [well(2, 3, 3), f64(3, 3, 2)], {}),
    # ---- torch.triangular_solve / cholesky_solve / cholesky_inverse
    ("triangular_solve", deprecated(lambda L, b, a: L.triangular_solve(b, a)),
     [Grad(f64(3, 2)), Grad(well(3, 3))], {}),
    ("triangular_solve lower transpose unit",
     deprecated(lambda L, b, a: b.triangular_solve(a, upper=False, transpose=True,
                                                   unitriangular=True)),
     [Grad(f64(2, 3, 2)), Grad(f64(2, 3, 3))], {}),
    ("triangular_solve 1-D", deprecated(lambda L, b, a: L.triangular_solve(b, a)),
     [f64(3), well(3, 3)], {}),
    ("cholesky_solve", lambda L, b, f: L.cholesky_solve(b, f), [Grad(f64(3, 2)), Grad(chol(3, 3))],
     {}),
    ("cholesky_solve upper batched", lambda L, b, f: b.cholesky_solve(f.mT, upper=True),
     [Grad(f64(2, 4, 2)), Grad(chol(2, 4, 4))], {}),
    ("cholesky_solve broadcast", lambda L, b, f: L.cholesky_solve(b, f),
     [Grad(f64(2, 3, 2)), Grad(chol(3, 3))], {}),
    ("cholesky_solve float32", lambda L, b, f: L.cholesky_solve(b, f),
     [Grad(f32(3, 2)), Grad(chol(3, 3, dtype=np.float32))], {"rtol": 1e-4, "atol": 1e-4}),
    ("cholesky_solve complex", parts(lambda L, b, f: L.cholesky_solve(b, f)),
     [Grad(c128(3, 2)), Grad(np.tril(c128(3, 3)) + 3 * np.eye(3))], {}),
    ("cholesky_solve shapes", lambda L, b, f: L.cholesky_solve(b, f), [f64(2, 3), chol(3, 3)],
     {"exc_message": True}),
    ("cholesky_solve 1-D", lambda L, b, f: L.cholesky_solve(b, f), [f64(3), chol(3, 3)],
     {"exc_message": True}),
    ("cholesky_solve dtypes", lambda L, b, f: L.cholesky_solve(b, f), [f32(3, 2), chol(3, 3)],
     {"exc_message": True}),
    ("cholesky_solve int", lambda L, b, f: L.cholesky_solve(b, f),
     [np.ones((3, 2), np.int64), np.eye(3, dtype=np.int64)], {"exc_message": True}),
    ("cholesky_solve not square", lambda L, b, f: L.cholesky_solve(b, f), [f64(2, 3), f64(2, 3)],
     {}),
    ("cholesky_inverse", lambda L, f: L.cholesky_inverse(f), [Grad(chol(3, 3))], {}),
    ("cholesky_inverse upper batched", lambda L, f: f.mT.cholesky_inverse(upper=True),
     [Grad(chol(2, 3, 3))], {}),
    ("cholesky_inverse not square", lambda L, f: L.cholesky_inverse(f), [f64(2, 3)],
     {"exc_message": True}),
    # ---- LU
    ("lu_factor", lambda L, a: L.linalg.lu_factor(a), [Grad(f64(4, 4))], {}),
    ("lu_factor batched", lambda L, a: L.linalg.lu_factor(a), [Grad(f64(2, 3, 3))], {}),
    ("lu_factor wide", lambda L, a: L.linalg.lu_factor(a), [Grad(f64(3, 5))], {}),
    ("lu_factor tall", lambda L, a: L.linalg.lu_factor(a), [Grad(f64(2, 5, 3))], {}),
    ("lu_factor float32", lambda L, a: L.linalg.lu_factor(a), [Grad(f32(4, 4))],
     {"rtol": 1e-4, "atol": 1e-5}),
    ("lu_factor complex", parts(lambda L, a: L.linalg.lu_factor(a)), [Grad(c128(3, 3))], {}),
    ("lu_factor ties", lambda L, a: L.linalg.lu_factor(a),
     [np.array([[1.0, 2.0, 0.0], [-1.0, 0.0, 3.0], [1.0, 5.0, 1.0]])], {}),
    ("lu_factor empty", lambda L, a: L.linalg.lu_factor(a), [f64(0, 3, 3)], {}),
    ("lu_factor 1-D", lambda L, a: L.linalg.lu_factor(a), [f64(3)], {"exc_message": True}),
    ("lu_factor int", lambda L, a: L.linalg.lu_factor(a), [np.eye(3, dtype=np.int64)], {}),
    ("lu_factor no pivot", lambda L, a: L.linalg.lu_factor(a, pivot=False), [f64(3, 3)],
     {"exc_message": True}),
    ("lu_factor singular", lambda L, a: L.linalg.lu_factor(a), [np.stack([np.eye(3), SINGULAR])],
     {"exc_message": True}),
    ("linalg.lu no pivot", lambda L, a: L.linalg.lu(a, pivot=False), [f64(3, 3)],
     {"exc_message": True}),
    ("lu_factor_ex singular", lambda L, a: L.linalg.lu_factor_ex(a),
     [np.stack([SINGULAR, np.eye(3), np.zeros((3, 3))])], {}),
    ("lu_factor_ex check_errors", lambda L, a: L.linalg.lu_factor_ex(a, check_errors=True),
     [SINGULAR], {"exc_message": True}),
    ("linalg.lu", lambda L, a: L.linalg.lu(a), [Grad(f64(2, 4, 4))], {}),
    ("linalg.lu wide", lambda L, a: L.linalg.lu(a), [Grad(f64(3, 4))], {}),
    ("linalg.lu tall", lambda L, a: L.linalg.lu(a), [Grad(f64(4, 2))], {}),
    ("linalg.lu complex wide", parts(lambda L, a: L.linalg.lu(a)), [Grad(c128(2, 3))], {}),
    ("linalg.lu singular", lambda L, a: L.linalg.lu(a), [SINGULAR], {}),
    ("torch.lu", deprecated(lambda L, a: L.lu(a)), [Grad(f64(3, 3))], {}),
    ("torch.lu get_infos", deprecated(lambda L, a: a.lu(get_infos=True)), [np.zeros((2, 2))],
     {}),
    ("lu_unpack", lambda L, a: L.lu_unpack(*L.linalg.lu_factor(a)), [Grad(f64(2, 4, 3))], {}),
    ("lu_unpack data only", lambda L, a: L.lu_unpack(*L.linalg.lu_factor(a),
                                                     unpack_pivots=False), [Grad(f64(3, 3))], {}),
    ("lu_unpack pivots only", lambda L, a: L.lu_unpack(*L.linalg.lu_factor(a),
                                                       unpack_data=False), [f64(3, 3)], {}),
    ("lu_unpack int64 pivots", lambda L, a: L.lu_unpack(a, L.tensor([1, 2, 3])), [f64(3, 3)],
     {"exc_message": True}),
    ("lu_unpack bad pivots", lambda L, a: L.lu_unpack(a, L.tensor([1, 5, 3], dtype=L.int32)),
     [f64(3, 3)], {"exc_message": True}),
    ("lu_solve", lu_solve_of, [Grad(f64(3, 3)), Grad(f64(3, 2))], {}),
    ("lu_solve batched", lu_solve_of, [Grad(f64(2, 4, 4)), Grad(f64(2, 4, 1))], {}),
    ("lu_solve adjoint", lambda L, a, b: lu_solve_of(L, a, b, adjoint=True),
     [Grad(f64(3, 3)), Grad(f64(3, 2))], {}),
    ("lu_solve right", lambda L, a, b: lu_solve_of(L, a, b, left=False),
     [Grad(f64(3, 3)), Grad(f64(2, 3))], {}),
    ("lu_solve right adjoint complex", parts(lambda L, a, b: lu_solve_of(L, a, b, left=False,
                                                                   adjoint=True)),
     [Grad(c128(3, 3)), Grad(c128(2, 3))], {}),
    ("lu_solve float32", lu_solve_of, [Grad(f32(3, 3)), Grad(f32(3, 2))],
     {"rtol": 1e-4, "atol": 1e-4}),
    ("torch.lu_solve", deprecated(lambda L, a, b: L.lu_solve(b, *L.linalg.lu_factor(a))),
     [Grad(f64(3, 3)), Grad(f64(3, 2))], {}),
    ("lu_solve shapes", lu_solve_of, [f64(3, 3), f64(4, 2)], {"exc_message": True}),
    ("lu_solve dtypes", lu_solve_of, [f64(3, 3), f32(3, 2)], {"exc_message": True}),
    ("lu_solve 1-D", lu_solve_of, [f64(3, 3), f64(3)], {}),
    # ---- matrix_exp
    ("matrix_exp", lambda L, a: L.linalg.matrix_exp(a), [Grad(f64(3, 3))], {}),
    ("matrix_exp small", lambda L, a: L.matrix_exp(a), [Grad(1e-3 * f64(3, 3))], {}),
    ("matrix_exp scaled batched", lambda L, a: a.matrix_exp(),
     [Grad(np.stack([0.1 * f64(4, 4), 3 * f64(4, 4)]))], {"rtol": 1e-6}),
    ("matrix_exp float32", lambda L, a: L.linalg.matrix_exp(a), [Grad(f32(3, 3))],
     {"rtol": 1e-4, "atol": 1e-4}),
    ("matrix_exp complex", parts(lambda L, a: L.linalg.matrix_exp(a)), [Grad(c128(3, 3))], {}),
    ("matrix_exp 1x1", lambda L, a: L.linalg.matrix_exp(a), [Grad(f64(2, 1, 1))], {}),
    ("matrix_exp empty", lambda L, a: L.linalg.matrix_exp(a), [f64(0, 3, 3)], {}),
    ("matrix_exp not square", lambda L, a: L.linalg.matrix_exp(a), [f64(2, 3)],
     {"exc_message": True}),
    ("matrix_exp int", lambda L, a: L.linalg.matrix_exp(a), [np.eye(3, dtype=np.int64)],
     {"exc_message": True}),
    # ---- vander / tensorinv / tensorsolve / diagonal
    ("vander", lambda L, x: L.linalg.vander(x), [Grad(f64(4))], {}),
    ("vander N batched", lambda L, x: L.linalg.vander(x, N=5), [Grad(f64(2, 3))], {}),
    ("vander zeros", lambda L, x: L.linalg.vander(x), [Grad(np.zeros(3))], {}),
    ("vander int", lambda L, x: L.linalg.vander(x), [np.array([1, 2, 3])], {}),
    ("vander N=1", lambda L, x: L.linalg.vander(x, N=1), [f64(3)], {"exc_message": True}),
    ("tensorinv", lambda L, a: L.linalg.tensorinv(a, ind=1), [Grad(well(6, 6).reshape(6, 2, 3))],
     {}),
    ("tensorinv ind 2", lambda L, a: L.linalg.tensorinv(a), [Grad(well(4, 4).reshape(2, 2, 4))],
     {}),
    ("tensorinv shapes", lambda L, a: L.linalg.tensorinv(a, ind=1), [f64(2, 3, 6)],
     {"exc_message": True}),
    ("tensorinv ind 0", lambda L, a: L.linalg.tensorinv(a, ind=0), [f64(2, 2)],
     {"exc_message": True}),
    ("tensorsolve", lambda L, a, b: L.linalg.tensorsolve(a, b),
     [Grad(well(6, 6).reshape(2, 3, 6)), Grad(f64(2, 3))], {}),
    ("tensorsolve dims", lambda L, a, b: L.linalg.tensorsolve(a, b, dims=(0,)),
     [Grad(well(6, 6).reshape(6, 2, 3)), Grad(f64(2, 3))], {}),
    ("tensorsolve shapes", lambda L, a, b: L.linalg.tensorsolve(a, b), [f64(2, 3, 6), f64(2, 2)],
     {"exc_message": True}),
    # ---- Householder: geqrf, householder_product / orgqr, ormqr
    ("geqrf", lambda L, a: L.geqrf(a), [f64(4, 3)], {}),
    ("geqrf wide batched", lambda L, a: a.geqrf(), [f64(2, 3, 5)], {}),
    ("geqrf float32", lambda L, a: L.geqrf(a), [f32(3, 3)], {"rtol": 1e-4, "atol": 1e-5}),
    ("geqrf complex", parts(lambda L, a: L.geqrf(a)), [c128(4, 2)], {}),
    ("geqrf zero column", lambda L, a: L.geqrf(a), [np.zeros((3, 2))], {}),
    ("geqrf 1-D", lambda L, a: L.geqrf(a), [f64(3)], {"exc_message": True}),
    ("geqrf int", lambda L, a: L.geqrf(a), [np.eye(3, dtype=np.int64)], {"exc_message": True}),
    ("householder_product", lambda L, a, t: L.linalg.householder_product(a, t),
     [Grad(f64(4, 3)), Grad(f64(3))], {}),
    ("householder_product of geqrf", lambda L, a: L.linalg.householder_product(*L.geqrf(a)),
     [f64(2, 4, 4)], {}),
    ("householder_product fewer tau", lambda L, a, t: L.linalg.householder_product(a, t),
     [Grad(f64(2, 4, 3)), Grad(f64(2, 2))], {}),
    ("householder_product complex", parts(lambda L, a, t: L.linalg.householder_product(a, t)),
     [Grad(c128(3, 2)), Grad(c128(2))], {}),
    ("orgqr", lambda L, a, t: a.orgqr(t), [Grad(f64(3, 3)), Grad(f64(3))], {}),
    ("householder_product wide", lambda L, a, t: L.linalg.householder_product(a, t),
     [f64(3, 4), f64(3)], {"exc_message": True}),
    ("householder_product tau long", lambda L, a, t: L.linalg.householder_product(a, t),
     [f64(4, 2), f64(3)], {"exc_message": True}),
    ("householder_product tau dtype", lambda L, a, t: L.linalg.householder_product(a, t),
     [f64(4, 2), f32(2)], {"exc_message": True}),
    ("householder_product tau ndim", lambda L, a, t: L.linalg.householder_product(a, t),
     [f64(4, 2), f64(1, 2)], {"exc_message": True}),
    ("ormqr", lambda L, a, t, c: L.ormqr(a, t, c), [Grad(f64(4, 3)), Grad(f64(3)), Grad(f64(4, 2))],
     {}),
    ("ormqr transpose", lambda L, a, t, c: L.ormqr(a, t, c, transpose=True),
     [Grad(f64(2, 4, 3)), Grad(f64(2, 3)), Grad(f64(2, 4, 2))], {}),
    ("ormqr right", lambda L, a, t, c: a.ormqr(t, c, left=False),
     [Grad(f64(4, 3)), Grad(f64(3)), Grad(f64(2, 4))], {}),
    ("ormqr right transpose complex", parts(lambda L, a, t, c: L.ormqr(a, t, c, left=False,
                                                                       transpose=True)),
     [Grad(c128(3, 3)), Grad(c128(3)), Grad(c128(2, 3))], {}),
    ("ormqr short tau", lambda L, a, t, c: L.ormqr(a, t, c), [f64(3, 3), f64(2), f64(3, 2)],
     {"exc_message": True}),
    ("ormqr right short tau", lambda L, a, t, c: L.ormqr(a, t, c, left=False),
     [f64(4, 3), f64(2), f64(5, 4)], {"exc_message": True}),
    ("ormqr shapes", lambda L, a, t, c: L.ormqr(a, t, c), [f64(4, 3), f64(3), f64(3, 2)],
     {"exc_message": True}),
    # ---- LDL^T (no derivatives, as in PyTorch)
    ("ldl_factor", lambda L, a: L.linalg.ldl_factor(a), [sym(4, 4)], {}),
    ("ldl_factor 2x2 pivots", lambda L, a: L.linalg.ldl_factor(a),
     [np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]])], {}),
    ("ldl_factor batched small diagonal", lambda L, a: L.linalg.ldl_factor(a),
     [sym(3, 5, 5) - 2 * np.eye(5) * sym(3, 5, 5)], {}),
    ("ldl_factor float32", lambda L, a: L.linalg.ldl_factor(a), [sym(4, 4).astype(np.float32)],
     {"rtol": 1e-4, "atol": 1e-5}),
    ("ldl_factor complex symmetric", parts(lambda L, a: L.linalg.ldl_factor(a)),
     [c128(3, 3) + c128(3, 3).T], {}),
    ("ldl_factor hermitian complex", parts(lambda L, a: L.linalg.ldl_factor(a, hermitian=True)),
     [(lambda h: h + h.conj().T)(c128(4, 4) * np.where(np.eye(4), 0.01, 1))], {}),
    ("ldl_solve hermitian complex", parts(lambda L, a, b: L.linalg.ldl_solve(
        *L.linalg.ldl_factor(a, hermitian=True), b, hermitian=True)),
     [(lambda h: h + np.swapaxes(h.conj(), -1, -2))(c128(2, 4, 4)), c128(2, 4, 2)], {}),
    ("ldl_factor hermitian real", lambda L, a: L.linalg.ldl_factor(a, hermitian=True),
     [sym(3, 3)], {}),
    ("ldl_factor_ex zero", lambda L, a: L.linalg.ldl_factor_ex(a), [np.zeros((2, 3, 3))], {}),
    ("ldl_factor singular", lambda L, a: L.linalg.ldl_factor(a), [np.zeros((3, 3))], {}),
    ("ldl_factor not square", lambda L, a: L.linalg.ldl_factor(a), [f64(2, 3)],
     {"exc_message": True}),
    ("ldl_solve", lambda L, a, b: L.linalg.ldl_solve(*L.linalg.ldl_factor(a), b),
     [sym(2, 5, 5), f64(2, 5, 3)], {}),
    ("ldl_solve 2x2 pivots", lambda L, a, b: L.linalg.ldl_solve(*L.linalg.ldl_factor(a), b),
     [np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]]), f64(3, 2)], {}),
    ("ldl_solve complex", parts(lambda L, a, b: L.linalg.ldl_solve(*L.linalg.ldl_factor(a), b)),
     [c128(4, 4) + c128(4, 4).T, c128(4, 1)], {}),
    ("ldl_solve 1-D", lambda L, a, b: L.linalg.ldl_solve(*L.linalg.ldl_factor(a), b),
     [sym(3, 3), f64(3)], {"exc_message": True}),
    ("ldl_solve dtypes", lambda L, a, b: L.linalg.ldl_solve(*L.linalg.ldl_factor(a), b),
     [sym(3, 3), f32(3, 2)], {"exc_message": True}),
    ("ldl_solve shapes", lambda L, a, b: L.linalg.ldl_solve(*L.linalg.ldl_factor(a), b),
     [sym(3, 3), f64(4, 2)], {"exc_message": True}),
    ("diagonal", lambda L, a: L.linalg.diagonal(a), [Grad(f64(2, 3, 4))], {}),
    ("diagonal offset dims", lambda L, a: L.linalg.diagonal(a, offset=-1, dim1=0, dim2=2),
     [Grad(f64(3, 2, 4))], {}),
]


@pytest.mark.parametrize("name,fn,inputs,kw", CASES, ids=[c[0] for c in CASES])
def test_against_torch(name, fn, inputs, kw):
    check(fn, *inputs, **kw)


# ---------------------------------------------------------------------------- gradcheck

def _well(a):
    return a + 3 * ember.eye(a.shape[-1], dtype=a.dtype)


def _chol(a):
    return ember.linalg.cholesky(a @ a.mT + ember.eye(a.shape[-1], dtype=a.dtype))


GRAD_CASES = [
    ("solve_triangular", lambda a, b: ember.linalg.solve_triangular(_well(a), b, upper=True),
     [(3, 3), (2, 3, 2)]),
    ("solve_triangular right unit", lambda a, b: ember.linalg.solve_triangular(
        a, b, upper=False, left=False, unitriangular=True), [(3, 3), (2, 3)]),
    ("cholesky_solve", lambda a, b: ember.cholesky_solve(b, _chol(a)), [(3, 3), (3, 2)]),
    ("cholesky_solve upper", lambda a, b: ember.cholesky_solve(b, _chol(a).mT, upper=True),
     [(3, 3), (3, 2)]),
    ("cholesky_inverse", lambda a: ember.cholesky_inverse(_chol(a)), [(3, 3)]),
    ("lu_factor", lambda a: ember.linalg.lu_factor(a).LU, [(2, 3, 3)]),
    ("lu wide", lambda a: ember.linalg.lu(a)[1:], [(2, 4)]),
    ("lu tall", lambda a: ember.linalg.lu(a)[1:], [(4, 2)]),
    ("lu_solve", lambda a, b: ember.linalg.lu_solve(*ember.linalg.lu_factor(a), b, adjoint=True),
     [(3, 3), (3, 2)]),
    ("matrix_exp", lambda a: ember.linalg.matrix_exp(a), [(2, 3, 3)]),
    ("vander", lambda x: ember.linalg.vander(x), [(3,)]),
    ("householder_product", lambda a, t: ember.linalg.householder_product(a, t),
     [(4, 3), (2,)]),
    ("ormqr right transpose", lambda a, t, c: ember.ormqr(a, t, c, left=False, transpose=True),
     [(4, 3), (3,), (2, 4)]),
    ("tensorinv", lambda a: ember.linalg.tensorinv(_well(a.reshape(4, 4)).reshape(2, 2, 4)),
     [(2, 2, 4)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck(name, fn, shapes):
    gen = np.random.default_rng(1)
    inputs = [ember.tensor(gen.standard_normal(s), dtype=ember.float64, requires_grad=True)
              for s in shapes]
    assert ember.autograd.gradcheck(fn, inputs)
    assert ember.autograd.gradgradcheck(fn, inputs)


def test_gradcheck_complex_matrix_exp():
    a = ember.tensor(c128(2, 2), requires_grad=True)
    assert ember.autograd.gradcheck(ember.linalg.matrix_exp, [a])


# ---------------------------------------------------------------------------- node names

NAME_CASES = [
    (lambda L, a: L.linalg.solve_triangular(a, a, upper=True), "LinalgSolveTriangularBackward0"),
    (lambda L, a: L.linalg.lu_factor(a).LU, "LinalgLuFactorExBackward0"),
    (lambda L, a: L.linalg.matrix_exp(a), "LinalgMatrixExpBackward0"),
    (lambda L, a: L.cholesky_solve(a, a), "CholeskySolveBackward0"),
    (lambda L, a: L.geqrf(a).a, "GeqrfBackward0"),
]


@pytest.mark.parametrize("fn,expected", NAME_CASES, ids=[c[1] for c in NAME_CASES])
def test_node_names(fn, expected):
    arr = well(2, 3, 3)
    t = fn(torch, torch.tensor(arr, requires_grad=True))
    e = fn(ember, ember.tensor(arr, requires_grad=True))
    assert t.grad_fn.name() == expected
    assert e.grad_fn.name() == expected


def test_named_tuples():
    a = well(3, 3)
    x = ember.tensor(a)
    results = {
        "linalg_lu_factor": ember.linalg.lu_factor(x), "linalg_lu_factor_ex":
        ember.linalg.lu_factor_ex(x), "linalg_lu": ember.linalg.lu(x),
        "lu_unpack": ember.lu_unpack(*ember.linalg.lu_factor(x)),
        "triangular_solve": ember.triangular_solve(x, x)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.tensor(a)
        expected = {
            "linalg_lu_factor": torch.linalg.lu_factor(t), "linalg_lu_factor_ex":
            torch.linalg.lu_factor_ex(t), "linalg_lu": torch.linalg.lu(t),
            "lu_unpack": torch.lu_unpack(*torch.linalg.lu_factor(t)),
            "triangular_solve": torch.triangular_solve(t, t)}
    for name, r in results.items():
        assert type(r).__name__ == type(expected[name]).__name__ == name
        for field in r._fields:  # torch's structseqs have the same attributes
            np.testing.assert_allclose(getattr(r, field).cpu().numpy(),
                                       getattr(expected[name], field).numpy(), atol=1e-12)


def test_lu_reconstructs_and_pivots_are_lapacks():
    """A = P L U, pivots int32 1-based and equal to LAPACK's on random batches."""
    a = f64(5, 4, 4)
    LU, piv = ember.linalg.lu_factor(ember.tensor(a))
    tLU, tpiv = torch.linalg.lu_factor(torch.tensor(a))
    assert piv.dtype is ember.int32
    np.testing.assert_array_equal(piv.cpu().numpy(), tpiv.numpy())
    P, L, U = ember.linalg.lu(ember.tensor(a))
    np.testing.assert_allclose((P @ L @ U).cpu().numpy(), a, atol=1e-12)


OUT_CASES = [
    ("solve_triangular", lambda L, a, out: L.linalg.solve_triangular(a, a, upper=True, out=out),
     lambda L: L.empty(3, 3, dtype=L.float64)),
    ("cholesky_solve", lambda L, a, out: L.cholesky_solve(a, a.tril(), out=out),
     lambda L: L.empty(0, dtype=L.float64)),
    ("lu_factor", lambda L, a, out: L.linalg.lu_factor(a, out=out),
     lambda L: (L.empty(0, dtype=L.float64), L.empty(0, dtype=L.int32))),
    ("lu_solve", lambda L, a, out: L.linalg.lu_solve(*L.linalg.lu_factor(a), a, out=out),
     lambda L: L.empty(3, 3, dtype=L.float64)),
    ("geqrf", lambda L, a, out: L.geqrf(a, out=out),
     lambda L: (L.empty(3, 3, dtype=L.float64), L.empty(3, dtype=L.float64))),
]


@pytest.mark.parametrize("name,fn,make_out", OUT_CASES, ids=[c[0] for c in OUT_CASES])
def test_out(name, fn, make_out):
    """out= receives the result (a tuple of tensors for the tuple-valued functions)."""
    a = well(3, 3)
    results = []
    for lib in (torch, ember):
        out = make_out(lib)
        r = fn(lib, lib.tensor(a), out)
        outs = out if isinstance(out, tuple) else (out,)
        rs = r if isinstance(r, tuple) else (r,)
        assert all(x is y for x, y in zip(rs, outs))
        results.append([o.cpu().numpy() for o in outs])
    for e, t in zip(results[1], results[0]):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)


def test_geqrf_has_no_derivative():
    for lib in (torch, ember):
        a = lib.tensor(f64(3, 3), requires_grad=True)
        with pytest.raises(NotImplementedError, match="the derivative for 'geqrf' is not "):
            lib.geqrf(a).a.sum().backward()


def test_ldl_matches_lapack_on_random_matrices():
    """Bunch-Kaufman pivots and factors equal LAPACK's (through torch) on symmetric and
    complex Hermitian matrices chosen to need 1x1 and 2x2 pivots and row swaps."""
    gen = np.random.default_rng(3)
    for trial in range(60):
        n = int(gen.integers(1, 7))
        a = gen.standard_normal((n, n))
        a = a + a.T
        if trial % 2:
            a[np.diag_indices(n)] *= 0.01
        hermitian = trial % 3 == 0
        if hermitian:  # complex Hermitian: LAPACK's hetrf
            h = gen.standard_normal((n, n)) * 1j
            a = a + h - h.T
        t = torch.linalg.ldl_factor_ex(torch.tensor(a), hermitian=hermitian)
        e = ember.linalg.ldl_factor_ex(ember.tensor(a), hermitian=hermitian)
        np.testing.assert_array_equal(e.pivots.cpu().numpy(), t.pivots.numpy())
        np.testing.assert_allclose(e.LD.cpu().numpy(), t.LD.numpy(), rtol=1e-9, atol=1e-9)


def test_every_linalg_name_exists():
    missing = {n for n in dir(torch.linalg) if not n.startswith("_")} - set(dir(ember.linalg))
    assert missing <= {"common_notes"}
