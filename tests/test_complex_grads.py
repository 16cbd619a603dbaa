"""Gradients of complex functions, against PyTorch.

PyTorch's convention (Wirtinger calculus): the gradient of a real loss L with respect to
z = x + iy is dL/dx + i dL/dy. Each op here is compared with torch on the same inputs
(values, then the gradient of a fixed real loss: a weighted sum of the real and imaginary
parts of the outputs), and checked with ember's own gradcheck / gradgradcheck, which
treat complex inputs and outputs as PyTorch's do. gradcheck itself is compared with
torch.autograd.gradcheck: the same functions pass, and the same wrong backward fails.
"""
import sys
import warnings

import numpy as np
import pytest

import ember
from ember.autograd.gradcheck import GradcheckError

torch = pytest.importorskip("torch")
TorchGradcheckError = sys.modules["torch.autograd.gradcheck"].GradcheckError

_RNG = np.random.default_rng(11)


def cplx(*shape, dtype=np.complex128):
    return (_RNG.standard_normal(shape) + 1j * _RNG.standard_normal(shape)).astype(dtype)


def parts(out):
    """A tensor or tuple of tensors as a list of real tensors (Re and Im of complex ones)."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    res = []
    for o in outs:
        res += [o.real, o.imag] if o.is_complex() else [o]
    return res


def weighted_loss(lib, out, seed=5):
    """sum_k w_k . part_k(out) with fixed random weights: a real loss of every part."""
    rng = np.random.default_rng(seed)
    total = 0
    for p in parts(out):
        w = rng.standard_normal(tuple(p.shape))
        total = total + (p * lib.tensor(w, dtype=p.dtype)).sum()
    return total


def to_np(t):
    return t.detach().cpu().resolve_conj().numpy()


def compare_with_torch(f, arrays, rtol=1e-7, atol=1e-9, create_graph=False):
    """f(lib, *tensors) on both libraries: outputs equal, gradients of weighted_loss equal
    (and with create_graph, the gradient of a loss of those gradients too)."""
    results = []
    for lib in (torch, ember):
        ins = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = f(lib, *ins)
        grads = lib.autograd.grad(weighted_loss(lib, out), ins, create_graph=create_graph)
        second = ()
        if create_graph:
            second = lib.autograd.grad(weighted_loss(lib, grads, seed=6), ins)
        results.append(([to_np(p) for p in parts(out)], [to_np(g) for g in grads],
                        [to_np(g) for g in second], [g.dtype for g in grads]))
    (t_out, t_g, t_g2, t_dt), (e_out, e_g, e_g2, e_dt) = results
    for t, e in zip(t_out + t_g + t_g2, e_out + e_g + e_g2):
        np.testing.assert_allclose(e, t, rtol=rtol, atol=atol)
    assert [str(d).split(".")[1] for d in t_dt] == [str(d).split(".")[1] for d in e_dt]


# ---------------------------------------------------------------------------- gradcheck

def _square(lib, wrong):
    """z -> z^2 as an autograd.Function; the right backward is g conj(2z), the wrong one
    forgets the conjugate (the classic complex-gradient bug)."""
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return z * z

        @staticmethod
        def backward(ctx, g):
            z, = ctx.saved_tensors
            return g * 2 * z if wrong else g * (2 * z).conj()
    return Square.apply


def _abs(lib, wrong):
    """|z| (C -> R); the gradient is g z / |z|, the wrong one g conj(z) / |z|."""
    class Abs(lib.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return z.abs()

        @staticmethod
        def backward(ctx, g):
            z, = ctx.saved_tensors
            return g * (z.conj() if wrong else z) / z.abs()
    return Abs.apply


def _to_complex(lib, wrong):
    """x -> x e^{ix} (R -> C); the gradient Re(conj(g) (1 + ix) e^{ix}), the wrong one
    takes Re(g ...) instead."""
    class ToComplex(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * lib.polar(lib.ones_like(x), x)

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            d = (1 + 1j * x) * lib.polar(lib.ones_like(x), x)
            return (g * d).real if wrong else (g.conj() * d).real
    return ToComplex.apply


Z4 = cplx(4)
M22 = cplx(2, 2)
X3 = _RNG.standard_normal(3)

GRADCHECK_CASES = [  # name, f(lib, *inputs), input arrays
    ("abs_squared", lambda lib, z: (z * z.conj()).real, (Z4,)),
    ("abs", lambda lib, z: z.abs(), (Z4,)),
    ("angle", lambda lib, z: z.angle(), (Z4,)),
    ("exp", lambda lib, z: z.exp(), (Z4,)),
    ("conj_times_sum", lambda lib, z: z.conj() * z.sum(), (Z4,)),
    ("det", lambda lib, a: lib.linalg.det(a), (M22,)),
    ("view_as_real", lambda lib, z: lib.view_as_real(z) ** 2, (Z4,)),
    ("real_to_complex", lambda lib, x: lib.polar(x.exp(), x), (X3,)),
    ("mixed_inputs", lambda lib, z, x: (z[:3] * x, (z.abs()[:3] * x).sum()), (Z4, X3)),
    ("square_function", lambda lib, z: _square(lib, False)(z), (Z4,)),
    ("abs_function", lambda lib, z: _abs(lib, False)(z), (Z4,)),
    ("to_complex_function", lambda lib, x: _to_complex(lib, False)(x), (X3,)),
]


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("name,f,arrays", GRADCHECK_CASES, ids=[c[0] for c in GRADCHECK_CASES])
def test_gradcheck_passes_like_torch(name, f, arrays, fast):
    for lib in (torch, ember):
        ins = tuple(lib.tensor(a, requires_grad=True) for a in arrays)
        assert lib.autograd.gradcheck(lambda *a: f(lib, *a), ins, fast_mode=fast) is True
        assert lib.autograd.gradgradcheck(lambda *a: f(lib, *a), ins, fast_mode=fast) is True


WRONG = [  # name, wrong function maker, input, the start of torch's message
    ("square", _square, Z4, "While considering the imaginary part of complex outputs only, "
                            "Jacobian mismatch for output 0 with respect to input 0"),
    ("abs", _abs, Z4, "Jacobian mismatch for output 0 with respect to input 0"),
    ("to_complex", _to_complex, X3, "While considering the imaginary part of complex outputs "
                                    "only, Jacobian mismatch for output 0 with respect to input 0"),
]


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("name,make,z,message", WRONG, ids=[c[0] for c in WRONG])
def test_gradcheck_fails_like_torch_on_wrong_backward(name, make, z, message, fast):
    for lib in (torch, ember):
        x = lib.tensor(z, requires_grad=True)
        error = TorchGradcheckError if lib is torch else GradcheckError
        with pytest.raises(error) as info:
            lib.autograd.gradcheck(make(lib, True), (x,), fast_mode=fast)
        assert str(info.value).startswith(message)
        assert lib.autograd.gradcheck(make(lib, True), (x,), fast_mode=fast,
                                      raise_exception=False) is False


def test_gradcheck_options_with_complex_inputs():
    """Explicit complex grad_outputs, check_grad_dtypes, non-contiguous grad_outputs, a real
    and a complex input together, an output that does not depend on the input."""
    for lib in (torch, ember):
        z = lib.tensor(Z4[:3], requires_grad=True)
        x = lib.tensor(X3, requires_grad=True)
        go = lib.tensor(Z4[1:] * 2, requires_grad=True)
        assert lib.autograd.gradgradcheck(lambda a: a * a * a, (z,), (go,))
        assert lib.autograd.gradcheck(lambda a: a * a, (z,), check_grad_dtypes=True)
        assert lib.autograd.gradgradcheck(lambda a: (a * a).abs(), (z,),
                                          gen_non_contig_grad_outputs=True)
        assert lib.autograd.gradcheck(lambda a, b: (a * b).sum(), (z, x), fast_mode=True)
        assert lib.autograd.gradcheck(lambda a: (a.real * 0 + 1, a * 2), (z,))


def test_gradcheck_wrong_imaginary_part_only():
    """A gradient whose real part is right and imaginary part wrong must fail too (fast mode
    checks the two parts along separate directions)."""
    class HalfWrong(ember.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return (z * z.conj()).real

        @staticmethod
        def backward(ctx, g):
            z, = ctx.saved_tensors
            return g * 2 * ember.complex(z.real, 1.1 * z.imag)
    x = ember.tensor(Z4, requires_grad=True)
    for fast in (False, True):
        assert ember.autograd.gradcheck(HalfWrong.apply, (x,), fast_mode=fast,
                                        raise_exception=False) is False


def test_gradcheck_non_differentiable_complex_output():
    """No output requires grad: passes when the function is locally constant, fails (on the
    numerical gradient) when a detached output still depends on the input."""
    for lib in (torch, ember):
        z = lib.tensor(Z4, requires_grad=True)
        steps = lambda a: (a.real > 0).to(lib.complex128) * (1 + 2j)   # noqa: E731
        assert lib.autograd.gradcheck(steps, (z,))
        error = TorchGradcheckError if lib is torch else GradcheckError
        with pytest.raises(error, match="Numerical gradient for function expected to be zero"):
            lib.autograd.gradcheck(lambda a: a.detach() * 1j, (z,))


def test_gradcheck_complex64_warns_complex128_does_not():
    for lib in (torch, ember):
        z = lib.tensor(Z4.astype(np.complex64), requires_grad=True)
        with pytest.warns(UserWarning, match="not a double precision"):
            lib.autograd.gradcheck(lambda a: a * 2, (z,), atol=1e-2, rtol=1e-2, eps=1e-3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert lib.autograd.gradcheck(lambda a: a * 2, (lib.tensor(Z4, requires_grad=True),))


def test_gradcheck_restores_complex_inputs():
    z = ember.tensor(Z4, requires_grad=True)
    for fast in (False, True):
        ember.autograd.gradcheck(lambda a: a.exp(), (z,), fast_mode=fast)
    np.testing.assert_array_equal(z.detach().numpy(), Z4)


def test_backward_from_two_outputs_of_one_node():
    """autograd.backward([sign, logabsdet]) reaches the input once (the graph walk counted
    the node's edges twice and the leaf's gradient never arrived)."""
    a = cplx(3, 3)
    grads = []
    for lib in (torch, ember):
        A = lib.tensor(a, requires_grad=True)
        s, l = lib.linalg.slogdet(A)
        lib.autograd.backward([s, l], [lib.ones_like(s) * (1 - 2j), lib.ones_like(l)])
        grads.append(to_np(A.grad))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10)


# ---------------------------------------------------------------------------- slogdet

@pytest.mark.parametrize("dtype,rtol", [(np.complex128, 1e-9), (np.complex64, 1e-4)])
@pytest.mark.parametrize("shape", [(3, 3), (2, 2, 2), (1, 1)])
def test_slogdet_complex_matches_torch(shape, dtype, rtol):
    a = cplx(*shape, dtype=dtype)
    compare_with_torch(lambda lib, A: tuple(lib.linalg.slogdet(A)), [a], rtol=rtol,
                       atol=rtol)
    compare_with_torch(lambda lib, A: lib.linalg.slogdet(A)[0], [a], rtol=rtol, atol=rtol)
    compare_with_torch(lambda lib, A: lib.logdet(A), [a], rtol=rtol, atol=rtol)


def test_slogdet_complex_double_backward_matches_torch():
    compare_with_torch(lambda lib, A: tuple(lib.linalg.slogdet(A)), [cplx(3, 3)], rtol=1e-8,
                       atol=1e-10, create_graph=True)


@pytest.mark.parametrize("fast", [False, True])
def test_slogdet_complex_gradcheck(fast):
    A = ember.tensor(cplx(2, 3, 3), requires_grad=True)
    assert ember.autograd.gradcheck(lambda a: tuple(ember.linalg.slogdet(a)), (A,), fast_mode=fast)
    assert ember.autograd.gradgradcheck(lambda a: tuple(ember.linalg.slogdet(a)), (A,),
                                        fast_mode=fast)


def test_logdet_complex_singular():
    for lib in (torch, ember):
        out = lib.logdet(lib.zeros(2, 2, dtype=lib.complex64))
        assert np.isneginf(out.real.item()) and np.isnan(out.imag.item())


# ---------------------------------------------------------------------------- logcumsumexp

INF = np.inf
LCSE_VALUES = [  # complex sequences whose scan hits each branch of the complex logaddexp
    ("branches", [1 + 3j, 2 - 3j, 0.5 + 3.1j, -1 + 2.9j, 3 + 3j]),
    ("tie_new_wins", [0j, 4j, 4 + 0j, 4 - 4j]),
    ("neg_inf", [-INF, complex(-INF, 1), 1 + 1j, 1000 + 2j, -INF]),
    ("pos_inf", [complex(INF, 1), complex(INF, 2), 1]),
    ("pos_inf_then_finite", [complex(INF, 1), 2, -3j]),
    ("inf_imag", [complex(1, INF), 0, 1]),
    ("nan", [1, complex(np.nan, 1), complex(INF, 2), 1]),
    ("tiny_and_huge", [0, -50 + 1j, -800, 700 + 3j, 1e-20, -1e5j]),
]


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("name,values", LCSE_VALUES, ids=[c[0] for c in LCSE_VALUES])
def test_logcumsumexp_complex_values_match_torch(name, values, dtype):
    a = np.array(values, dtype=dtype)
    t = torch.logcumsumexp(torch.tensor(a), 0).numpy()
    e = ember.logcumsumexp(ember.tensor(a), 0)
    assert e.dtype is getattr(ember, np.dtype(dtype).name)
    rtol = 1e-12 if dtype == np.complex128 else 1e-6
    np.testing.assert_allclose(e.numpy(), t, rtol=rtol, atol=0, equal_nan=True)


@pytest.mark.parametrize("dtype,rtol", [(np.complex128, 1e-10), (np.complex64, 2e-5)])
def test_logcumsumexp_complex_gradients_with_infinities_match_torch(dtype, rtol):
    """Gradients where the input holds -inf (zero gradient after a finite prefix, NaN where
    the output itself is -inf, as torch) and large magnitudes; the loss reads the finite
    outputs only."""
    a = np.array([-INF, complex(-INF, 1), 1 + 1j, 1000 + 2j, -INF, 3 - 40j], dtype=dtype)
    w = np.array([0, 0, 1 + 2j, -1j, 0.5, 2 - 1j], dtype=dtype)
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(a, requires_grad=True)
        y = lib.logcumsumexp(x, 0)
        (y[2:] * lib.tensor(w[2:])).real.sum().backward()
        grads.append(x.grad.resolve_conj().numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=rtol, atol=rtol, equal_nan=True)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("dtype,rtol", [(np.complex128, 1e-9), (np.complex64, 1e-4)])
def test_logcumsumexp_complex_matches_torch(dim, dtype, rtol):
    a = cplx(3, 4, dtype=dtype) * 3
    compare_with_torch(lambda lib, x: lib.logcumsumexp(x, dim), [a], rtol=rtol, atol=rtol)
    compare_with_torch(lambda lib, x: lib.logcumsumexp(x.mT, dim), [a], rtol=rtol, atol=rtol)


def test_logcumsumexp_complex_double_backward_matches_torch():
    compare_with_torch(lambda lib, x: lib.logcumsumexp(x, 1), [cplx(2, 5)], rtol=1e-8,
                       atol=1e-10, create_graph=True)


@pytest.mark.parametrize("fast", [False, True])
def test_logcumsumexp_complex_gradcheck(fast):
    x = ember.tensor(cplx(3, 4), requires_grad=True)
    for dim in (0, 1):
        f = lambda a: ember.logcumsumexp(a, dim)   # noqa: E731
        assert ember.autograd.gradcheck(f, (x,), fast_mode=fast)
        assert ember.autograd.gradgradcheck(f, (x,), fast_mode=fast)
    x0 = ember.tensor(1 + 2j, dtype=ember.complex128, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a: ember.logcumsumexp(a, 0), (x0,))


def test_logcumsumexp_complex_empty_and_zero_dim():
    for shape in [(0, 3), ()]:
        a = np.zeros(shape, dtype=np.complex64) + (1 - 1j)
        t = torch.logcumsumexp(torch.tensor(a), -1 if shape else 0)
        e = ember.logcumsumexp(ember.tensor(a), -1 if shape else 0)
        assert tuple(e.shape) == tuple(t.shape) and e.dtype is ember.complex64
        np.testing.assert_array_equal(e.numpy(), t.numpy())


# ---------------------------------------------------------------------------- eig / eigvals

def eig_invariant(lib, A):
    """Functions of eig that do not depend on the eigenvectors' phases: the eigenvalues,
    |V|, and V diag(L) V^-1 (= A)."""
    w, V = lib.linalg.eig(A)
    return w, V.abs(), (V * w.unsqueeze(-2)).matmul(lib.linalg.inv(V))


EIG_INPUTS = [  # name, array, rtol
    ("real", _RNG.standard_normal((3, 3)), 1e-8),
    ("real_batched", _RNG.standard_normal((2, 4, 4)), 1e-8),
    ("complex128", cplx(3, 3), 1e-8),
    ("complex128_batched", cplx(2, 3, 3), 1e-8),
    ("complex64", cplx(3, 3, dtype=np.complex64), 1e-3),
    ("float32", _RNG.standard_normal((3, 3)).astype(np.float32), 1e-3),
]


@pytest.mark.parametrize("name,a,rtol", EIG_INPUTS, ids=[c[0] for c in EIG_INPUTS])
def test_eig_gradients_match_torch(name, a, rtol):
    compare_with_torch(eig_invariant, [a], rtol=rtol, atol=rtol)
    compare_with_torch(lambda lib, A: lib.linalg.eigvals(A), [a], rtol=rtol, atol=rtol)
    compare_with_torch(lambda lib, A: lib.linalg.eig(A)[1].abs() ** 2, [a], rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name,a,rtol", EIG_INPUTS[:4], ids=[c[0] for c in EIG_INPUTS[:4]])
def test_eig_double_backward_matches_torch(name, a, rtol):
    compare_with_torch(lambda lib, A: lib.linalg.eigvals(A), [a], rtol=1e-7, atol=1e-9,
                       create_graph=True)
    compare_with_torch(lambda lib, A: lib.linalg.eig(A)[1].abs(), [a], rtol=1e-7, atol=1e-9,
                       create_graph=True)


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_eig_gradcheck(dtype, fast):
    a = _RNG.standard_normal((2, 3, 3)) + (1j * _RNG.standard_normal((2, 3, 3))
                                           if dtype == np.complex128 else 0)
    A = ember.tensor(a, requires_grad=True)
    for f in (lambda x: ember.linalg.eigvals(x), lambda x: eig_invariant(ember, x)[:2]):
        assert ember.autograd.gradcheck(f, (A,), fast_mode=fast)
        assert ember.autograd.gradgradcheck(f, (A,), fast_mode=fast)


def test_eig_phase_dependent_loss_raises_like_torch():
    # its own generator: a matrix with complex eigenvalues whatever ran before (with only
    # real ones, V.real.sum() may not depend on the phases and then nothing raises)
    a = np.random.default_rng(1).standard_normal((3, 3))
    for lib in (torch, ember):
        A = lib.tensor(a, requires_grad=True)
        V = lib.linalg.eig(A)[1]
        with pytest.raises(RuntimeError, match=r"specified up to multiplication by e\^\{i phi\}"):
            V.real.sum().backward()


def test_eig_empty_matrix_gradient():
    for lib in (torch, ember):
        A = lib.zeros(0, 0, dtype=lib.float64, requires_grad=True)
        w, V = lib.linalg.eig(A)
        (w.abs().sum() + V.abs().sum()).backward()
        assert tuple(A.grad.shape) == (0, 0) and A.grad.dtype == lib.float64


REPEATED = [  # a decomposition used through its values only, at repeated values
    ("eigvals", lambda lib, A: lib.linalg.eigvals(A).real.sum()),
    ("eigvals_complex", lambda lib, A: lib.linalg.eigvals(A.to(lib.complex128)).abs().sum()),
    ("eig_values", lambda lib, A: lib.linalg.eig(A)[0].real.sum()),
    ("eigh_values", lambda lib, A: lib.linalg.eigh(A)[0].sum()),
    ("svd_values", lambda lib, A: lib.linalg.svd(A)[1].sum()),
]


@pytest.mark.parametrize("name,f", REPEATED, ids=[c[0] for c in REPEATED])
def test_values_only_gradient_at_repeated_values(name, f):
    """Without an eigenvector / singular vector gradient nothing divides by the gaps, so a
    repeated value gives torch's finite gradient, not 0 / 0 = NaN."""
    a = np.diag([2.0, 2.0, -1.0])
    grads = []
    for lib in (torch, ember):
        A = lib.tensor(a, requires_grad=True)
        f(lib, A).backward()
        grads.append(to_np(A.grad))
    assert np.isfinite(grads[1]).all()
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-12)


def test_real_to_complex_cast_backward_takes_real_part_silently():
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(X3, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            (x.to(lib.complex128) * (1 + 2j)).abs().sum().backward()
        assert x.grad.dtype == lib.float64
        grads.append(to_np(x.grad))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)
