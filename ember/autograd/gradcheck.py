"""gradcheck and gradgradcheck: compare autograd's gradients with finite differences.

For a function f with inputs x_1..x_n and outputs y_1..y_m, the Jacobian block of output
y_o with respect to input x_i is J[i, o] (rows: the elements of x_i, columns: the
elements of y_o, PyTorch's layout). Two estimates are compared, for every pair:

    numerical   J[i, o][k, :] = (f(x + eps e_k) - f(x - eps e_k))_o / (2 eps)   (central differences)
    analytical  J[i, o][:, l] = autograd.grad(y_o, x_i, grad_outputs=e_l)       (one backward per
                                                                                   output element)

and they pass when |analytical - numerical| <= atol + rtol |numerical| everywhere.

fast_mode compares one random projection instead of whole matrices: with random unit
vectors u (over x_i) and v (over y_o),

    numerical   v . (f(x + eps u) - f(x - eps u))_o / (2 eps)
    analytical  u . autograd.grad(y_o, x_i, grad_outputs=v)

gradgradcheck runs gradcheck on the function (x, grad_outputs) -> autograd.grad(f(x), x,
grad_outputs, create_graph=True), which checks the second derivatives.

Complex numbers (Wirtinger calculus, PyTorch's convention). The gradient autograd gives
for a real loss L of a complex z = x + iy is

    grad_z L = dL/dx + i dL/dy  (= 2 conj(dL/dz) = 2 dL/dz*)

so for a complex input the numerical Jacobian entry is built from two real perturbations,
J[k, l] = d out_l / d x_k + i d out_l / d y_k, and compared with the (complex) vjp. A
complex output is not a real loss: the function is checked twice, once with Re of its
complex outputs and once with Im (imaginary part first, as PyTorch), which together pin
down the whole complex derivative. In fast mode a complex input gets two random
directions, u_r for its real part and u_i for its imaginary part:

    numerical   v . (f(x + eps u_r) - f(x - eps u_r)) / (2 eps)
                  + i v . (f(x + i eps u_i) - f(x - i eps u_i)) / (2 eps)
    analytical  u_r . Re(vjp(v))  +  i u_i . Im(vjp(v))

Forward mode (check_forward_ad) compares the Jacobian built from forward-mode tangents
(ember.autograd.forward_ad), one input element at a time (slow) or along one random
direction (fast), with the same central differences; a complex input is checked along
its real part and then its imaginary part, as PyTorch does. check_batched_grad compares
autograd.grad(is_grads_batched=True) with one backward per cotangent, and
check_batched_forward_grad ember.func.vmap over forward-mode products with one product
per tangent; ember batches by looping, so these check the batched paths' bookkeeping.
"""
import warnings

import numpy as np

from .._backend import like

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck and gradgradcheck when a check fails."""


def _as_tuple(x):
    if isinstance(x, (list, tuple)):
        return tuple(x)
    return (x,)


def _is_tensor(x):
    from .._tensor import Tensor
    return isinstance(x, Tensor)


def _fail(msg, raise_exception):
    if raise_exception:
        raise GradcheckError(msg)
    return False


def _diff_inputs(inputs):
    """Indices of the inputs gradcheck differentiates (tensors that require grad)."""
    idx = [i for i, x in enumerate(inputs) if _is_tensor(x) and x.requires_grad]
    if not idx:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of them have requires_grad=True.")
    for i in idx:
        dt = inputs[i].dtype
        if dt.name not in ("float64", "complex128"):
            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point or "
                f"complex. This check will likely fail if all the inputs are not of double "
                f"precision floating point or complex. ", UserWarning, stacklevel=3)
    return idx


def _run(func, inputs):
    """func(*inputs) as a tuple of outputs."""
    return _as_tuple(func(*inputs))


def _host_dtype(x):
    """The host dtype gradcheck keeps a tensor's derivatives in: complex128 for complex
    tensors, float64 otherwise."""
    return np.complex128 if x.dtype.is_complex else np.float64


def _output_arrays(func, inputs):
    """The outputs' values (float64 or complex128 copies: outputs may be views of the
    inputs). The backward checks see real outputs only (complex ones were split into real
    and imaginary parts); the forward-mode check keeps complex outputs whole."""
    from . import grad_mode
    with grad_mode.no_grad():
        outs = _run(func, inputs)
    return [np.array(o.detach()._cpu_array(), dtype=_host_dtype(o)) if _is_tensor(o) else None
            for o in outs]


def _central_difference(func, inputs, data, idx, step, eps):
    """The outputs' derivatives (flattened float64 arrays) along `step` added to
    data[idx] (a real step, or i times one for the imaginary part of a complex input)."""
    orig = data[idx].copy()
    data[idx] = orig - step
    lo = _output_arrays(func, inputs)
    data[idx] = orig + step
    hi = _output_arrays(func, inputs)
    data[idx] = orig
    return [None if a is None else ((b - a) / (2 * eps)).ravel() for a, b in zip(lo, hi)]


def _numerical_columns(func, inputs, x, eps):
    """Yield, for each element k of input x, the list over outputs of d out / d x[k]
    (flattened arrays), by central differences on x's memory. For a complex x the entry
    is d out / d Re x[k] + i d out / d Im x[k], the gradient convention of autograd."""
    data = x._data
    for k in range(data.size):
        idx = np.unravel_index(k, data.shape)
        d_re = _central_difference(func, inputs, data, idx, eps, eps)
        if not x.dtype.is_complex:
            yield d_re
            continue
        d_im = _central_difference(func, inputs, data, idx, 1j * eps, eps)
        yield [None if a is None else a + 1j * b for a, b in zip(d_re, d_im)]


def _numerical_jacobian(func, inputs, diff_idx, outputs, eps):
    """{(i, o): array (numel of input i, numel of output o)}, complex for complex inputs."""
    jac = {}
    for i in diff_idx:
        x = inputs[i]
        cols = list(_numerical_columns(func, inputs, x, eps))
        for o, out in enumerate(outputs):
            if not _is_tensor(out):
                continue
            m = np.zeros((x.numel(), out.numel()), dtype=_host_dtype(x))
            for k, col in enumerate(cols):
                m[k] = col[o]
            jac[i, o] = m
    return jac


def _vjp(out, inputs, diff_idx, v):
    """autograd.grad(out, inputs, v) as flat host arrays (complex128 for complex inputs,
    float64 otherwise; zeros for unused inputs)."""
    from . import grad as _grad
    ins = [inputs[i] for i in diff_idx]
    gs = _grad(out, ins, v, retain_graph=True, allow_unused=True)
    res = []
    for x, g in zip(ins, gs):
        if g is None:
            res.append(np.zeros(x.numel(), dtype=_host_dtype(x)))
            continue
        if tuple(g.shape) != tuple(x.shape):
            raise GradcheckError(f"Gradient has incorrect shape: expected {tuple(x.shape)}, got "
                                 f"{tuple(g.shape)}")
        res.append(np.array(g.detach()._cpu_array(), dtype=_host_dtype(x)).ravel())
    return res, gs


def _analytical_jacobian(inputs, diff_idx, outputs, check_grad_dtypes):
    """{(i, o): float64 array (numel of input i, numel of output o)} by one backward per
    output element, each run twice to catch nondeterministic backward passes."""
    from .._ops.creation import zeros_like
    jac, again = {}, {}
    for o, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        for i in diff_idx:
            shape, dt = (inputs[i].numel(), out.numel()), _host_dtype(inputs[i])
            jac[i, o] = np.zeros(shape, dtype=dt)
            again[i, o] = np.zeros(shape, dtype=dt)
        for l in range(out.numel()):
            v = zeros_like(out)
            v._data[np.unravel_index(l, out._data.shape)] = 1
            for store in (jac, again):
                rows, gs = _vjp(out, inputs, diff_idx, v)
                for i, row, g in zip(diff_idx, rows, gs):
                    store[i, o][:, l] = row
                    if check_grad_dtypes and g is not None and g.dtype is not inputs[i].dtype:
                        raise GradcheckError("Gradient has dtype mismatch")
    return jac, again


def _fmt(m):
    from .._ops.creation import tensor
    return repr(tensor(m, dtype=None))


def _check_outputs_differentiable(func, inputs, diff_idx, outputs, eps, nondet_tol,
                                  raise_exception):
    """No output requires grad: then the numerical gradient must be zero."""
    num = _numerical_jacobian(func, inputs, diff_idx, outputs, eps)
    for m in num.values():
        if np.any(np.abs(m) > nondet_tol):
            return _fail("Numerical gradient for function expected to be zero", raise_exception)
    return True


def _slow_check(func, inputs, diff_idx, outputs, eps, atol, rtol, nondet_tol, check_grad_dtypes,
                raise_exception, prefix=""):
    num = _numerical_jacobian(func, inputs, diff_idx, outputs, eps)
    ana, again = _analytical_jacobian(inputs, diff_idx, outputs, check_grad_dtypes)
    for (i, o), a in ana.items():
        if not np.allclose(a, again[i, o], rtol=0, atol=nondet_tol):
            return _fail(
                f"Backward is not reentrant, i.e., running backward with same input and "
                f"grad_output multiple times gives different values, although analytical gradient "
                f"matches numerical gradient.The tolerance for nondeterminism was {nondet_tol}.",
                raise_exception)
    for (i, o), n in num.items():
        a = ana.get((i, o), np.zeros_like(n))
        if not np.allclose(a, n, rtol=rtol, atol=atol):
            return _fail(f"{prefix}Jacobian mismatch for output {o} with respect to input {i},\n"
                         f"numerical:{_fmt(n)}\nanalytical:{_fmt(a)}\n", raise_exception)
    return True


def _unit_vector(rng, n):
    u = rng.standard_normal(n)
    return u / max(np.linalg.norm(u), 1e-12)


def _directional_derivative(func, inputs, x, o, direction, eps):
    """Central-difference derivative of output o along `direction` (flat, numel of x; i
    times a real vector to step along the imaginary part of a complex x), flattened."""
    return _directional_derivatives(func, inputs, x, direction, eps)[o]


def _fast_check(func, inputs, diff_idx, outputs, eps, atol, rtol, check_grad_dtypes,
                raise_exception, prefix=""):
    from .._ops.creation import tensor
    rng = np.random.default_rng(0)
    for o, out in enumerate(outputs):
        if not _is_tensor(out):
            continue
        v = _unit_vector(rng, out.numel())
        if out.requires_grad:
            v_t = tensor(v.reshape(out.shape), dtype=out.dtype, device=out.device)
            rows, _ = _vjp(out, inputs, diff_idx, v_t)
        else:
            rows = [np.zeros(inputs[i].numel(), dtype=_host_dtype(inputs[i])) for i in diff_idx]
        for i, row in zip(diff_idx, rows):
            x = inputs[i]
            u = _unit_vector(rng, x.numel())
            numerical = v @ _directional_derivative(func, inputs, x, o, u, eps)
            analytical = u @ row.real
            if x.dtype.is_complex:
                # a second direction for the imaginary part: the real and imaginary parts
                # of the gradient are checked separately
                u_im = _unit_vector(rng, x.numel())
                numerical = numerical + 1j * (
                    v @ _directional_derivative(func, inputs, x, o, 1j * u_im, eps))
                analytical = analytical + 1j * (u_im @ row.imag)
            if not np.isclose(analytical, numerical, rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                num = _numerical_jacobian(func, inputs, [i], outputs, eps)[i, o]
                ana, _ = _analytical_jacobian(inputs, [i], outputs, False)
                ana = ana.get((i, o), np.zeros_like(num))
                raise GradcheckError(
                    f"{prefix}Jacobian mismatch for output {o} with respect to input {i},\n"
                    f"numerical:{_scalar(numerical)}\nanalytical:{_scalar(analytical)}\n\n"
                    "The above quantities relating the numerical and analytical jacobians are "
                    "computed \nin fast mode. Below, we recompute numerical and analytical "
                    f"jacobians in slow mode:\n\nNumerical:\n {_fmt(num)}\nAnalytical:\n{_fmt(ana)}"
                    f"\n\nThe max per-element difference (slow mode) is: "
                    f"{float(np.max(np.abs(num - ana), initial=0.0))}.\n")
    return True


def _scalar(z):
    """A Python float, or complex where the check involved a complex input."""
    z = complex(z)
    return z if z.imag != 0 else z.real


def _check_undefined_grad(inputs, diff_idx, outputs, raise_exception):
    """Backward must accept zero (undefined) output gradients and give zero input gradients."""
    from . import grad as _grad
    from .._ops.creation import zeros_like
    outs = [o for o in outputs if _is_tensor(o) and o.requires_grad]
    ins = [inputs[i] for i in diff_idx]
    try:
        gs = _grad(outs, ins, [zeros_like(o) for o in outs], retain_graph=True, allow_unused=True)
    except RuntimeError as e:
        return _fail("Expected backward function to handle undefined output grads. Please look at "
                     f"\"Notes about undefined output gradients\" in \"tools/autograd/"
                     f"derivatives.yaml\"\n{e}", raise_exception)
    for g in gs:
        if g is not None and np.any(g.detach()._cpu_array() != 0):
            return _fail("Expected all input grads to be undefined or zero when all output grads "
                         "are undefined or zero.", raise_exception)
    return True


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False, check_forward_ad=False,
              check_backward_ad=True, fast_mode=False, masked=None):
    """Check the gradients of `func` at `inputs` (float64 or complex128 tensors with
    requires_grad=True) against central finite differences; see the module docstring for
    the math, complex inputs and outputs included.

    Returns True, or raises GradcheckError (returns False with raise_exception=False).
    """
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError("Expected at least one of check_forward_ad or check_backward_ad "
                             "to be True")
    if check_batched_grad and not check_backward_ad:
        raise AssertionError("Setting check_batched_grad=True requires check_backward_ad to "
                             "be True")
    if check_batched_forward_grad and not check_forward_ad:
        raise AssertionError("Setting check_batched_forward_grad=True requires "
                             "check_forward_ad to be True")
    inputs = _as_tuple(inputs)
    diff_idx = _diff_inputs(inputs)
    if check_backward_ad and not _backward_checks(func, inputs, diff_idx, eps, atol, rtol,
                                                  raise_exception, nondet_tol, check_grad_dtypes,
                                                  fast_mode):
        return False
    if check_forward_ad and not _forward_check(func, inputs, diff_idx, eps, atol, rtol,
                                               raise_exception, fast_mode):
        return False
    if check_batched_forward_grad and not _batched_forward_check(func, inputs, diff_idx,
                                                                 raise_exception):
        return False
    if not check_backward_ad:
        return True
    outputs = _run(func, inputs)
    if check_batched_grad:
        for o, out in enumerate(outputs):
            if (_is_tensor(out) and out.requires_grad
                    and not _batched_grad_check(inputs, diff_idx, out, o, raise_exception)):
                return False
    if check_undefined_grad and any(_is_tensor(o) and o.requires_grad for o in outputs):
        return _check_undefined_grad(inputs, diff_idx, outputs, raise_exception)
    return True


def _backward_checks(func, inputs, diff_idx, eps, atol, rtol, raise_exception, nondet_tol,
                     check_grad_dtypes, fast_mode):
    """The analytical (backward) Jacobian against the numerical one."""
    outputs = _run(func, inputs)
    if _has_complex(outputs):
        # a complex output is checked as two real functions, its imaginary part first
        parts = [(_part_of_complex_outputs(func, part),
                  f"While considering the {name} part of complex outputs only, ")
                 for part, name in (("imag", "imaginary"), ("real", "real"))]
    else:
        parts = [(func, "")]
    if not any(_is_tensor(o) and o.requires_grad for o in outputs):
        return all(_check_outputs_differentiable(f, inputs, diff_idx, _run(f, inputs), eps,
                                                 nondet_tol, raise_exception) for f, _ in parts)
    for f, prefix in parts:
        if fast_mode:
            ok = _fast_check(f, inputs, diff_idx, _run(f, inputs), eps, atol, rtol,
                             check_grad_dtypes, raise_exception, prefix)
        else:
            ok = _slow_check(f, inputs, diff_idx, _run(f, inputs), eps, atol, rtol, nondet_tol,
                             check_grad_dtypes, raise_exception, prefix)
        if not ok:
            return False
    return True


# ---------------------------------------------------------------- forward mode

def _jvp(func, inputs, i, tangent):
    """The outputs' forward-mode tangents as flat host arrays (None for non-tensor outputs)."""
    return [None if t is None else np.array(t._cpu_array(), dtype=_host_dtype(t)).ravel()
            for t in _jvp_tensors(func, inputs, i, tangent)]


def _tangent(x, flat):
    """A tangent for x from a flat host array (complex for the imaginary part)."""
    from .._ops.creation import tensor
    return tensor(flat.reshape(tuple(x.shape)), dtype=x.dtype, device=x.device)


def _forward_check(func, inputs, diff_idx, eps, atol, rtol, raise_exception, fast_mode):
    """The Jacobian from forward-mode tangents against central differences, input by input;
    a complex input along its real part, then its imaginary part."""
    rng = np.random.default_rng(0)
    for i in diff_idx:
        x = inputs[i]
        parts = [(1, "")] if not x.dtype.is_complex else [
            (1, "While considering the real part of complex inputs only, "),
            (1j, "While considering the imaginary part of complex inputs only, ")]
        n = x.numel()
        for unit, prefix in parts:
            if fast_mode:
                directions = [unit * _unit_vector(rng, n)]
            else:
                directions = [unit * np.eye(1, n, k).ravel() for k in range(n)]
            num_cols, ana_cols = [], []
            for d in directions:
                num_cols.append(_directional_derivatives(func, inputs, x, d, eps))
                ana_cols.append(_jvp(func, inputs, i, _tangent(x, d)))
            for o in range(len(num_cols[0])):
                if num_cols[0][o] is None:
                    continue
                num = np.stack([c[o] for c in num_cols])
                ana = np.stack([c[o] for c in ana_cols])
                if fast_mode:   # v . J u both ways
                    v = _unit_vector(rng, num.shape[1])
                    num, ana = num @ v, ana @ v
                if not np.allclose(ana, num, rtol=rtol, atol=atol):
                    return _fail(f"{prefix}Jacobian computed with forward mode mismatch for "
                                 f"output {o} with respect to input {i},\nnumerical:{_fmt(num)}"
                                 f"\nanalytical:{_fmt(ana)}\n", raise_exception)
    return True


def _directional_derivatives(func, inputs, x, direction, eps):
    """Central differences of every output along `direction` (flat; complex to step along
    the imaginary part of a complex x), flattened, complex outputs kept whole."""
    step = eps * like(direction.reshape(x._data.shape), x._data)
    orig = x._data.copy()
    x._data[...] = orig - step
    lo = _output_arrays(func, inputs)
    x._data[...] = orig + step
    hi = _output_arrays(func, inputs)
    x._data[...] = orig
    return [None if a is None else ((b - a) / (2 * eps)).ravel() for a, b in zip(lo, hi)]


# ---------------------------------------------------------------- batched gradients

_BATCHED_GRAD_MSG = ("gradcheck or gradgradcheck failed while testing batched gradient "
                     "computation.")
_BATCHED_FORWARD_MSG = ("gradcheck failed while testing batched gradient computation with "
                        "forward-mode AD.")


def _batched_grad_check(inputs, diff_idx, out, o, raise_exception):
    """autograd.grad with two cotangents batched (is_grads_batched) against one call per
    cotangent."""
    from . import grad as _grad
    from .._ops.creation import randn_like, zeros_like
    ins = [inputs[i] for i in diff_idx]

    def vjp(v, batched=False):
        gs = _grad(out, ins, v, retain_graph=True, allow_unused=True, is_grads_batched=batched)
        return [g if g is not None else
                zeros_like(x).expand(((v.shape[0],) if batched else ()) + tuple(x.shape))
                for g, x in zip(gs, ins)]
    cotangents = [randn_like(out) for _ in range(2)]
    return _compare_batched(lambda vs: vjp(vs, batched=True), vjp, cotangents,
                            lambda k: (o, diff_idx[k]), _BATCHED_GRAD_MSG, raise_exception)


def _batched_forward_check(func, inputs, diff_idx, raise_exception):
    """ember.func.vmap over forward-mode products with two tangents against one product
    per tangent. (gradcheck reaches up to ember.func here, as PyTorch's reaches vmap.)"""
    from .._ops.creation import randn_like
    from ..func import vmap
    for i in diff_idx:
        x = inputs[i]

        def jvp(tangent):
            return tuple(t for t in _jvp_tensors(func, inputs, i, tangent) if t is not None)
        tangents = [randn_like(x) for _ in range(2)]
        if not _compare_batched(vmap(jvp), jvp, tangents, lambda k: (k, i),
                                _BATCHED_FORWARD_MSG, raise_exception):
            return False
    return True


def _compare_batched(batched_fn, fn, vectors, label, message, raise_exception):
    """batched_fn(stack(vectors)) against fn(v) for each v, stacked: each result k must
    agree (the failure message names (output, input) = label(k))."""
    from .._ops.joining import stack
    expected = [stack(column) for column in zip(*(fn(v) for v in vectors))]
    try:
        result = batched_fn(stack(vectors))
    except RuntimeError as e:
        raise GradcheckError(f"While computing batched gradients, got: {e}\n\n{message}") from e
    for k, (res, exp) in enumerate(zip(result, expected)):
        if res.shape != exp.shape or not np.allclose(res._cpu_array(), exp._cpu_array()):
            o, i = label(k)
            return _fail(f"For output {o} and input {i}:\n\n{message}\n\nGot:\n{res}\n\n"
                         f"Expected:\n{exp}", raise_exception)
    return True


def _jvp_tensors(func, inputs, i, tangent):
    """The outputs' forward-mode tangents when input i carries `tangent` and the other
    inputs none: zeros where an output has none, None for non-tensor outputs."""
    from . import forward_ad, grad_mode
    from .._ops.creation import zeros_like
    with grad_mode.no_grad(), forward_ad.dual_level():
        ins = tuple(forward_ad.make_dual(x.detach(), tangent) if j == i else
                    (x.detach() if _is_tensor(x) else x) for j, x in enumerate(inputs))
        result = []
        for o in _run(func, ins):
            if not _is_tensor(o):
                result.append(None)
                continue
            t = forward_ad.unpack_dual(o).tangent
            result.append(zeros_like(o.detach()) if t is None else t.detach())
    return result


def _has_complex(outputs):
    return any(_is_tensor(o) and o.dtype.is_complex for o in outputs)


def _part_of_complex_outputs(func, part):
    """func with each complex output replaced by its real or imaginary part ("real" /
    "imag"), a differentiable real view; real outputs pass through."""
    def wrapped(*inputs):
        return tuple(getattr(o, part) if _is_tensor(o) and o.dtype.is_complex else o
                     for o in _run(func, inputs))
    return wrapped


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False,
                  masked=False):
    """Check second derivatives: gradcheck of (inputs, grad_outputs) -> d(func)/d(inputs)
    . grad_outputs, the vector-Jacobian product built with create_graph=True.

    grad_outputs defaults to random values in [-1, 1) (requiring grad) shaped like the
    outputs, drawn from the default generator.
    """
    from . import grad as _grad, grad_mode
    from .._dtype import float64
    if not (check_fwd_over_rev or check_rev_over_rev):
        raise AssertionError("Expected at least one of check_fwd_over_rev or "
                             "check_rev_over_rev to be True")
    if check_undefined_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_undefined_grad=True requires check_rev_over_rev "
                             "to be True")
    if check_batched_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_batched_grad=True requires check_rev_over_rev to "
                             "be True")
    inputs = _as_tuple(inputs)
    diff_idx = _diff_inputs(inputs)
    if grad_outputs is None:
        # drawn from the default generator as PyTorch draws them (testing.make_tensor), so
        # that a seeded program's later random numbers stay the same
        from ..testing import make_tensor
        outputs = _run(func, inputs)
        grad_outputs = tuple(
            make_tensor(o.shape, dtype=o.dtype if o.dtype.is_floating_point or o.dtype.is_complex
                        else float64, device=o.device, low=-1, high=1, requires_grad=True,
                        noncontiguous=gen_non_contig_grad_outputs)
            for o in outputs if _is_tensor(o) and o.requires_grad)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)

    grad_needed = [_is_tensor(g) and g.requires_grad for g in grad_outputs]

    def first_derivative(*args):
        # gradcheck evaluates this under no_grad for finite differences, and detaches the
        # inputs for forward mode: the vjp needs a graph, and the inputs' requires_grad back
        ins = tuple(x.requires_grad_() if i in diff_idx else x for i, x in enumerate(args[:n_in]))
        gos = tuple(g.requires_grad_() if need else g
                    for g, need in zip(args[n_in:], grad_needed))
        with grad_mode.enable_grad():
            outs = [o for o in _run(func, ins) if _is_tensor(o) and o.requires_grad]
            diff = [ins[i] for i in diff_idx]
            gs = _grad(outs, diff, gos, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_derivative, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, check_batched_grad=check_batched_grad,
                     check_forward_ad=check_fwd_over_rev, check_backward_ad=check_rev_over_rev,
                     fast_mode=fast_mode, masked=masked)

