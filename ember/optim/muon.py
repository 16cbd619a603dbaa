"""Muon (Keller Jordan, 2024): momentum SGD whose step is the momentum orthogonalized by a
Newton-Schulz iteration, for the 2-D weights of hidden layers."""
import math

import numpy as np

from .._backend import array_namespace
from .._tensor import Tensor
from .optimizer import Optimizer, _to_scalar, _lerp_, _lr_value

__all__ = ["Muon"]

# the quintic Newton-Schulz coefficients and step count of Keller Jordan's Muon post
_NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
_NS_STEPS = 5
_EPS = 1e-7


class Muon(Optimizer):
    r"""Muon, as torch.optim.Muon computes it.

        B = mu B + (1 - mu) G  (a lerp);  U = lerp(G, B, mu) if nesterov else B;
        O = NS_k(U);  p = p (1 - lr weight_decay);  p = p - lr' O.

    NS_k: X = U / max(||U||_F, eps) (transposed when U has more rows than columns), then
    k times  A = X X^T;  X = a X + (b A + c A A) X,  with (a, b, c) = ns_coefficients; the
    iteration runs in bfloat16, as torch's does (each product rounded to bfloat16 from a
    float32 accumulation, and the sums b A + c (A A) and a X + (...) X as the fused
    multiply-adds of torch's addmm), so that the same steps come out. It pushes the singular values
    of U towards 1: O ~ U' V^T for U = U' S V^T.
    lr' = lr sqrt(max(1, A / B)) for an A x B parameter (adjust_lr_fn None or "original"),
    or 0.2 lr sqrt(max(A, B)) ("match_rms_adamw"). Only 2-D real parameters.
    """

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=_NS_COEFFICIENTS, eps=_EPS, ns_steps=_NS_STEPS,
                 adjust_lr_fn=None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= _to_scalar(lr):
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                                      nesterov=nesterov, ns_coefficients=ns_coefficients,
                                      eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn))
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def step(self, closure=None):
        return self._run_step(self._update, closure)

    def _check_grads(self):
        super()._check_grads()
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None:
                    continue
                if p.dtype.is_complex:
                    raise RuntimeError("Muon does not support complex parameters")
                if p._grad.ndim != 2:
                    raise ValueError("Param gradient must be a 2D matrix")
            if group["ns_steps"] >= 100:
                raise ValueError("Number of steps must be less than 100 for computational "
                                 "efficiency")
            if len(group["ns_coefficients"]) != 3:
                raise ValueError("Coefficients must be a tuple of exactly 3 values")

    def _update(self):
        for group in self.param_groups:
            lr = _lr_value(group["lr"])   # a float32 Tensor lr rounds its products, as torch
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = Tensor._make(
                        array_namespace(p._grad._data).zeros_like(p._grad._data))
                _muon(p._data, p._grad._data, state["momentum_buffer"]._data, group, lr)
                p._bump_version()


def _muon(x, g, buf, group, lr):
    """One Muon step of the 2-D parameter array `x` (in place) with gradient `g`."""
    momentum = group["momentum"]
    _lerp_(buf, g, 1 - momentum)
    if group["nesterov"]:
        update = g.copy()
        _lerp_(update, buf, momentum)
    else:
        update = buf
    ortho = _orthogonalize(update, group["ns_coefficients"], group["ns_steps"], group["eps"])
    rows, cols = x.shape
    if group["adjust_lr_fn"] == "match_rms_adamw":
        adjusted_lr = lr * (0.2 * math.sqrt(max(rows, cols)))
    else:
        adjusted_lr = lr * math.sqrt(max(1, rows / cols))
    x *= 1 - lr * group["weight_decay"]
    x -= adjusted_lr * ortho.astype(x.dtype)


def _orthogonalize(u, coefficients, steps, eps):
    """NS_steps(u) of the class docstring, in bfloat16 arithmetic: float32 arrays holding
    bfloat16 values (each result rounded by _round_bf16), returned as float32."""
    xp = array_namespace(u)
    a, b, c = (np.float32(k) for k in coefficients)
    f32 = np.float32
    x = _round_bf16(xp, u.astype(f32))
    wide = u.shape[0] > u.shape[1]
    if wide:
        x = x.T
    norm = _round_bf16(xp, xp.sqrt(xp.sum(x * x, dtype=f32)))
    x = _round_bf16(xp, x / xp.maximum(norm, _round_bf16(xp, xp.asarray(eps, f32))))
    for _ in range(steps):
        gram = _round_bf16(xp, x @ x.T)
        poly = _round_bf16(xp, _fma(xp, b, gram, c * (gram @ gram)))
        x = _round_bf16(xp, _fma(xp, a, x, poly @ x))
    return x.T if wide else x


def _fma(xp, beta, y, z):
    """beta * y + z (float32 scalar and arrays) rounded once to float32, as the fused
    multiply-add of torch's bfloat16 addmm (beta * C + (alpha * A @ B)); the product of a
    float32 and a bfloat16 value is exact in float64."""
    return (xp.float64(beta) * y.astype(xp.float64) + z).astype(xp.float32)


def _round_bf16(xp, a):
    """float32 array `a` rounded to the nearest bfloat16 values (ties to even), kept as
    float32: bfloat16 is float32's upper 16 bits, so round at bit 16 and clear the rest.
    NaNs are left alone (the carry would turn them into infinities)."""
    a = xp.ascontiguousarray(a, dtype=np.float32)
    bits = a.view(np.uint32)
    rounded = (bits + (np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1)))) & \
        np.uint32(0xFFFF0000)
    return xp.where(xp.isnan(a), a, rounded.view(np.float32))
