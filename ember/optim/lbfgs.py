"""L-BFGS with an optional strong-Wolfe line search (a port of minFunc, as torch.optim.LBFGS).

Rounding as torch's: its scalars (dot products, ro, H_diag, al, a step found from them) are
0-dim tensors of the parameters' dtype, so their arithmetic with Python numbers rounds in
that dtype (float32 for float32 parameters). Here they are NumPy scalars of that dtype,
whose arithmetic with Python floats rounds the same way (NEP 50: a Python float takes the
scalar's dtype); numbers torch keeps as Python floats (the losses, c1, c2, a step that is
the lr) stay Python floats. Its ``add_(v, alpha=a)`` updates round once (fused
multiply-add): `axpy_`. Left apart (torch's come from MKL, whose kernels depend on the CPU): the dot products are
NumPy's (OpenBLAS's) but for vectors of up to 3 values, summed in MKL's order, and longer
ones may sum in another order; the line search's square root is correctly rounded where
MKL's is not always (_sqrt). Given torch's values for those three primitives (_dot,
_abs_sum, _sqrt), the steps are torch's bit for bit (tests/test_lbfgs_bitexact_nu23.py).
"""
import numpy as np

from .._backend import array_namespace
from .._ops.fma_arrays import axpy_
from .._tensor import Tensor
from ..autograd import grad_mode
from .optimizer import Optimizer, check_lr, _lr_value

__all__ = ["LBFGS"]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimizer of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped to
    `bounds` (default: [min(x1, x2), max(x1, x2)]); the midpoint when the cubic has none
    (or d2^2 is NaN).

    d1 = g1 + g2 - 3 (f1 - f2) / (x1 - x2);  d2 = sqrt(d1^2 - g1 g2);
    x = x2 - (x2 - x1) (g2 + d2 - d1) / (g2 - g1 + 2 d2).
    """
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - _rdiv(3 * (f1 - f2), x1 - x2)
    d2_square = d1 * d1 - g1 * g2           # (torch's d1 ** 2 is d1 * d1)
    if not d2_square >= 0:
        return (xmin_bound + xmax_bound) / 2.0
    d2 = _sqrt(d2_square)
    if x1 <= x2:
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(min_pos, xmin_bound), xmax_bound)


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Find a step t along d satisfying the strong Wolfe conditions
    f(x + t d) <= f + c1 t gtd and |g(x + t d) . d| <= -c2 gtd:
    bracket an interval containing such a t, then zoom in by cubic interpolation.
    Returns (f_new, g_new, t, number of function evaluations)."""
    d_norm = _scalar_of(abs(d).max())
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = _dot(g_new, d)

    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = _dot(g_new, d)
        ls_iter += 1

    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket until a point satisfies the conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # a t too close to the bracket's ends (twice, or beyond them) moves 10% inside
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = _dot(g_new, d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # not enough decrease: t becomes the high end
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(Optimizer):
    r"""L-BFGS: quasi-Newton steps d = -H g, with H the inverse-Hessian estimate built from the
    last `history_size` pairs (s = step, y = change of gradient) by the two-loop recursion,
    scaled by H_diag = y.s / y.y.  One `step(closure)` runs up to `max_iter` iterations
    (`max_eval` closure calls); the step length is lr (the first iteration
    min(1, 1/|g|_1) * lr) or found by a strong-Wolfe line search.

    Only one parameter group is supported; the whole state lives under the first parameter:
    'func_evals', 'n_iter', 'd', 't', 'old_dirs', 'old_stps', 'ro', 'H_diag',
    'prev_flat_grad', 'prev_loss' and 'al', as in torch (ro, H_diag and al as 0-dim tensors
    of the parameters' dtype, t one too where torch's is).
    """

    _user_errstate = {}

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # ------------------------------------------------------------------ flat views
    # A complex parameter takes part as its real and imaginary parts (PyTorch's view_as_real),
    # so the flat vectors are real and a complex parameter fills two slots per element.
    def _gather_flat_grad(self):
        xp = array_namespace(self._params[0]._data)
        return xp.concatenate([_as_real(xp.zeros(p._data.size, dtype=p._data.dtype)
                                        if p._grad is None else p._grad._data.reshape(-1))
                               for p in self._params])

    def _add_grad(self, step_size, update):
        """p += step_size * update (torch's p.add_(update, alpha=step_size): step_size in
        p's dtype, one rounding), `update` being the flat concatenation over parameters."""
        offset = 0
        for p in self._params:
            data = p._data
            if data.dtype.kind == "c":
                # (its real view; a copy where p is not contiguous, written back after)
                flat = data.reshape(-1).view(data.real.dtype)
                part = update[offset:offset + flat.size]
                axpy_(flat, step_size, part)
                if not np.shares_memory(flat, data) if type(data) is np.ndarray else \
                        not data.flags.c_contiguous:
                    data[...] = flat.view(data.dtype).reshape(data.shape)
                size = flat.size
            else:
                size = data.size
                axpy_(data, step_size, update[offset:offset + size].reshape(data.shape))
            p._bump_version()
            offset += size

    def _clone_param(self):
        return [p._data.copy() for p in self._params]

    def _set_param(self, params_data):
        for p, data in zip(self._params, params_data):
            p._data[...] = data
            p._bump_version()

    def _evaluate(self, closure):
        with grad_mode.enable_grad(), np.errstate(**self._user_errstate):
            return closure()

    def _directional_evaluate(self, closure, x, t, d):
        """Loss and flat gradient at x + t d; the parameters are restored to x afterwards."""
        self._add_grad(t, d)
        loss = float(self._evaluate(closure))
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # ------------------------------------------------------------------ step
    def step(self, closure):
        """Run up to max_iter L-BFGS iterations; `closure` re-evaluates the model and returns
        the loss (it is required). Returns the loss of the first evaluation."""
        if len(self.param_groups) != 1:    # (add_param_group let a second one in)
            raise AssertionError(f"Expected exactly one param_group, but got "
                                 f"{len(self.param_groups)}")
        # NumPy scalars warn on overflow (1 / ys in float16) where torch's 0-dim tensors are
        # silent; the closure runs under the caller's settings
        self._user_errstate = np.geterr()
        with np.errstate(all="ignore"):
            return self._run_step(self._minimize, closure, closure_to_update=True)

    def _minimize(self, closure):
        group = self.param_groups[0]
        lr = _lr_value(group["lr"])      # (a Tensor lr: a NumPy scalar of its dtype)
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = self._evaluate(closure)
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if _scalar_of(abs(flat_grad).max()) <= tolerance_grad:
            return orig_loss
        opt_cond = False
        dtype = flat_grad.dtype

        d = _array(state.get("d"))
        t = _number(state.get("t"))
        old_dirs = [_array(v) for v in state.get("old_dirs", [])]
        old_stps = [_array(v) for v in state.get("old_stps", [])]
        ro = [_number(v) for v in state.get("ro", [])]
        h_diag = _number(state.get("H_diag"))
        prev_flat_grad = _array(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")
        al = [_number(v) for v in state["al"]] if "al" in state else None

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # direction: steepest descent first, then the two-loop recursion d = -H g
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                h_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * _in(dtype, t)
                ys = _dot(y, s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / _dot(y, y)
                if al is None:
                    al = [None] * history_size
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = _dot(old_stps[i], q) * ro[i]
                    axpy_(q, -al[i], old_dirs[i])
                d = r = q * _in(dtype, h_diag)
                for i in range(len(old_dirs)):
                    be_i = _dot(old_dirs[i], r) * ro[i]
                    axpy_(r, al[i] - be_i, old_stps[i])

            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            # step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / _abs_sum(flat_grad)) * lr
            else:
                t = lr
            gtd = _dot(flat_grad, d)
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)
                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = _scalar_of(abs(flat_grad).max()) <= tolerance_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:
                    # re-evaluate only if another iteration follows
                    loss = float(self._evaluate(closure))
                    flat_grad = self._gather_flat_grad()
                    opt_cond = _scalar_of(abs(flat_grad).max()) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if _scalar_of(abs(d * _in(dtype, t)).max()) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        # stored in the parameters' (real) dtype: NumPy's bfloat16 times a Python float gives
        # float32, so the vectors of bfloat16 parameters come out wider than torch's
        dtype = self._params[0]._data.real.dtype
        d = d.astype(dtype, copy=False)
        old_dirs = [v.astype(dtype, copy=False) for v in old_dirs]
        old_stps = [v.astype(dtype, copy=False) for v in old_stps]
        prev_flat_grad = prev_flat_grad.astype(dtype, copy=False)
        xp = array_namespace(d)
        state["d"] = _tensor(d)
        # a Tensor lr makes torch's t that Tensor once past the first iteration
        state["t"] = group["lr"] if t is lr and isinstance(group["lr"], Tensor) else \
            _stored(xp, t)
        state["old_dirs"] = [_tensor(v) for v in old_dirs]
        state["old_stps"] = [_tensor(v) for v in old_stps]
        state["ro"] = [_stored(xp, v) for v in ro]
        state["H_diag"] = _stored(xp, h_diag)      # (the int 1 until the first pair)
        if al is not None:
            state["al"] = [_stored(xp, v) for v in al]
        state["prev_flat_grad"] = _tensor(prev_flat_grad)
        state["prev_loss"] = prev_loss
        return orig_loss


def _dot(a, b):
    """torch's a.dot(b) of two flat vectors, as a NumPy scalar of their dtype. Up to 3
    values the sum of the rounded products in MKL's ?dot order (measured against torch
    2.13's on x86-64 with AVX-512: in order, but float64's third product before its second
    when the vectors are 16-byte aligned, as torch's LBFGS vectors, fresh allocations,
    are); longer vectors NumPy's dot, whose order may differ from MKL's in the last bits."""
    if a.size <= 3 and type(a) is np.ndarray:
        p = a * b
        if p.size == 3 and p.dtype == np.float64:
            return (p[0] + p[2]) + p[1]
        return p.sum()           # (NumPy sums fewer than 8 values in order)
    return _scalar_of(a.dot(b))


def _abs_sum(a):
    """torch's a.abs().sum(), a NumPy scalar of a's dtype (NumPy's order: fewer than 8 values
    in order, as torch's; longer ones may differ in the last bits)."""
    return _scalar_of(abs(a).sum())


def _sqrt(value):
    """The square root of a scalar, correctly rounded. torch's (MKL's vectorized sqrt, on
    0-dim tensors too) is not: ~20% of float32 and ~1.5% of float64 values come out 1 ulp
    off, where the two line searches then part in the last bits."""
    return np.sqrt(value) if isinstance(value, np.generic) else value ** 0.5


def _rdiv(number, value):
    """number / value, as torch divides a Python number by a 0-dim tensor: the tensor's
    reciprocal times the number (two roundings)."""
    if type(number) in (int, float) and isinstance(value, np.generic):
        return (value.dtype.type(1) / value) * number
    return number / value


def _scalar_of(value):
    """A reduction's result as a NumPy scalar of its dtype (CuPy gives 0-dim arrays)."""
    if isinstance(value, np.generic):
        return value
    return np.dtype(value.dtype).type(value.item())


def _in(dtype, number):
    """A number (Python or a NumPy scalar) in `dtype`, as torch casts a scalar or a 0-dim
    tensor operand of a vector operation to the vector's dtype."""
    return dtype.type(number)


def _as_real(flat):
    """A contiguous flat array with complex entries as interleaved (real, imaginary) pairs."""
    if flat.dtype.kind != "c":
        return flat
    return flat.view(flat.real.dtype)


def _array(value):
    """State vectors are stored as Tensors (so state_dict and save/load see Tensors)."""
    return value._data if isinstance(value, Tensor) else value


def _number(value):
    """A state scalar: a 0-dim Tensor (torch's tensor scalars) as a NumPy scalar of its
    dtype, a Python number as it is."""
    if isinstance(value, Tensor):
        return _scalar_of(value._data.reshape(()))
    return value


def _stored(xp, value):
    """A NumPy scalar as a 0-dim Tensor of its dtype (on the parameters' device), a Python
    number as it is."""
    if isinstance(value, np.generic):
        return Tensor._make(xp.asarray(value))
    return value


def _tensor(array):
    return None if array is None else Tensor._make(array)
