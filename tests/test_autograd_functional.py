"""autograd.functional (jacobian, hessian, vjp, jvp, hvp, vhp) against torch's."""
import numpy as np
import pytest
import torch

import ember

from tests.oracle.harness import assert_same

rng = np.random.default_rng(0)
A = rng.standard_normal(3)
B = rng.standard_normal((2, 3))
S = np.array(0.7)


def f_exp(lib, x):
    return (x * x).exp()


def f_two_in(lib, x, y):
    return (y * x).sum(0) + x


def f_two_out(lib, x, y):
    return (x * y).sum(), y.t() * x.reshape(1, 3).t()


def f_scalar(lib, x):
    return (x ** 3).sum() + (x[0] * x[1])


def f_scalar2(lib, x, y):
    return ((y * x) ** 2).sum() + x.sum()


def f_unused(lib, x, y):
    return x * 2


def f_linear(lib, x):
    return (x * 2).sum()


def f_const(lib, x):
    return x.detach() * 2


def f_int(lib, x):
    return 3


# (name, fn, input arrays, v for vjp (output-shaped), v for jvp/hvp (input-shaped))
CASES = [
    ("exp", f_exp, (A,), (A[::-1].copy(),), (A,)),
    ("zero_dim", f_exp, (S,), (S,), (S,)),
    ("two_inputs", f_two_in, (A, B), (A,), (A, B)),
    ("two_outputs", f_two_out, (A, B), (S, B.T.copy()), (A, B)),
    ("unused_input", f_unused, (A, B), (A,), (A, B)),
    ("detached_output", f_const, (A,), (A,), (A,)),
    ("non_tensor_output", f_int, (A,), (A,), (A,)),
]
SCALAR_CASES = [
    ("cubic", f_scalar, (A,), (A[::-1].copy(),)),
    ("two_inputs", f_scalar2, (A, B), (A, B)),
    ("linear", f_linear, (A,), (A,)),
    ("zero_dim", f_scalar, (np.array([0.3, -0.5]),), (np.array([1.0, 2.0]),)),
]


def _tensors(lib, arrays, requires_grad=False):
    ts = tuple(lib.tensor(a, dtype=lib.float64, requires_grad=requires_grad) for a in arrays)
    return ts if len(ts) > 1 else ts[0]


def compare(call):
    """call(lib) on both; outputs equal, or both raise the same exception type."""
    try:
        expected = call(torch)
    except Exception as te:
        with pytest.raises(type(te)) as ei:
            call(ember)
        assert str(ei.value).split("\n")[0] == str(te).split("\n")[0].replace("torch.", "ember.")
        return None
    got = call(ember)
    assert_same(got, expected)
    return got


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("name,fn,ins,v_out,v_in", CASES, ids=[c[0] for c in CASES])
def test_vjp_jvp_jacobian(name, fn, ins, v_out, v_in, strict):
    def f(lib):
        return lambda *a: fn(lib, *a)
    compare(lambda lib: lib.autograd.functional.jacobian(f(lib), _tensors(lib, ins),
                                                          strict=strict))
    compare(lambda lib: lib.autograd.functional.vjp(f(lib), _tensors(lib, ins),
                                                     _tensors(lib, v_out), strict=strict))
    compare(lambda lib: lib.autograd.functional.jvp(f(lib), _tensors(lib, ins),
                                                     _tensors(lib, v_in), strict=strict))


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("name,fn,ins,v", SCALAR_CASES, ids=[c[0] for c in SCALAR_CASES])
def test_hessian_hvp_vhp(name, fn, ins, v, strict):
    def f(lib):
        return lambda *a: fn(lib, *a)
    compare(lambda lib: lib.autograd.functional.hessian(f(lib), _tensors(lib, ins), strict=strict))
    for op in ("hvp", "vhp"):
        compare(lambda lib: getattr(lib.autograd.functional, op)(
            f(lib), _tensors(lib, ins), _tensors(lib, v), strict=strict))
    compare(lambda lib: lib.autograd.functional.vjp(f(lib), _tensors(lib, ins), strict=strict))


def test_v_errors():
    compare(lambda lib: lib.autograd.functional.vjp(lambda x: x * 2, _tensors(lib, (A,))))
    compare(lambda lib: lib.autograd.functional.vjp(lambda x: x * 2, _tensors(lib, (A,)),
                                                     lib.ones(2, dtype=lib.float64)))
    compare(lambda lib: lib.autograd.functional.jvp(lambda x: x * 2, _tensors(lib, (A,))))
    compare(lambda lib: lib.autograd.functional.hvp(lambda x: x * 2, _tensors(lib, (A,)),
                                                     _tensors(lib, (A,))))
    compare(lambda lib: lib.autograd.functional.hessian(lambda x: x * 2, _tensors(lib, (A,))))
    compare(lambda lib: lib.autograd.functional.jacobian(lambda x: x, 3))
    compare(lambda lib: lib.autograd.functional.jacobian(lambda x: x, (_tensors(lib, (A,)), 3)))


@pytest.mark.parametrize("create_graph", [False, True])
def test_create_graph(create_graph):
    def run(lib):
        x = _tensors(lib, (A,), requires_grad=True)
        jac = lib.autograd.functional.jacobian(lambda a: a ** 3, x, create_graph=create_graph)
        out = [jac, jac.requires_grad]
        if create_graph:
            out.append(lib.autograd.grad(jac.sum(), x)[0])
        _, hv = lib.autograd.functional.hvp(lambda a: (a ** 3).sum(), x, x.detach(),
                                            create_graph=create_graph)
        out += [hv, hv.requires_grad]
        if create_graph:
            out.append(lib.autograd.grad(hv.sum(), x)[0])
        return out

    compare(run)


def test_vectorize_accepted():
    compare(lambda lib: lib.autograd.functional.jacobian(
        lambda a: a.exp(), _tensors(lib, (A,)), vectorize=True))
    compare(lambda lib: lib.autograd.functional.hessian(
        lambda a: (a.exp()).sum(), _tensors(lib, (A,)), vectorize=True))
