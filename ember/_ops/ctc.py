"""Connectionist temporal classification loss (Graves et al. 2006).

The loss of one sequence is -log p(target | input), summed over every alignment of the
target extended with blanks, l' = (blank, l_1, blank, ..., l_L, blank), by the forward
(alpha) recursion in log space:

    alpha[t, s] = lp[t, l'_s] + logsumexp(alpha[t-1, s], alpha[t-1, s-1],
                                          alpha[t-1, s-2] if l'_s != blank and l'_s != l'_{s-2})

and -log p = -logsumexp(alpha[T-1, S-1], alpha[T-1, S-2]). The backward (beta) recursion
gives the posterior of each symbol at each step. The gradient is PyTorch's:
exp(lp[t, c]) - posterior[t, c] for t < input_length (it equals the gradient through a
log_softmax that produced lp) and 0 after the input ends.
"""
import numpy as np

from .._backend import as_array, like, to_host
from .._tensor import Tensor
from ._base import Op, apply
from ._util import dtype_name, check_half_kernel

__all__ = []


def _logsumexp(*terms):
    stacked = np.stack(terms)
    m = np.max(stacked, axis=0)
    safe = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return safe + np.log(np.sum(np.exp(stacked - safe), axis=0))


def _shift(a, k):
    """a moved k places towards higher (k > 0) or lower (k < 0) indices, -inf filled."""
    out = np.full_like(a, -np.inf)
    if k > 0:
        out[k:] = a[:len(a) - k]
    else:
        out[:len(a) + k] = a[-k:]
    return out


def _one_sequence(lp, labels, blank):
    """(nll, grad) of one sequence: lp (T, C) float64, labels (L,) ints."""
    T, C = lp.shape
    ext = np.full(2 * len(labels) + 1, blank, dtype=np.int64)
    ext[1::2] = labels
    S = len(ext)
    # the s-2 skip is allowed onto a label that differs from the label two back
    skip = np.zeros(S, dtype=bool)
    skip[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    neg = np.full(S, -np.inf)
    alpha = np.full((T, S), -np.inf)
    beta = np.full((T, S), -np.inf)
    if T == 0:
        nll = 0.0 if len(labels) == 0 else np.inf
        return nll, np.zeros((0, C))
    alpha[0, 0] = lp[0, blank]
    if S > 1:
        alpha[0, 1] = lp[0, ext[1]]
    for t in range(1, T):
        prev = alpha[t - 1]
        two = np.where(skip, _shift(prev, 2), neg)
        alpha[t] = _logsumexp(prev, _shift(prev, 1), two) + lp[t, ext]
    beta[T - 1, S - 1] = lp[T - 1, blank]
    if S > 1:
        beta[T - 1, S - 2] = lp[T - 1, ext[S - 2]]
    skip_next = np.zeros(S, dtype=bool)  # the s -> s+2 skip, seen from s
    skip_next[:-2] = skip[2:]
    for t in range(T - 2, -1, -1):
        nxt = beta[t + 1]
        two = np.where(skip_next, _shift(nxt, -2), neg)
        beta[t] = _logsumexp(nxt, _shift(nxt, -1), two) + lp[t, ext]
    ends = [alpha[T - 1, S - 1]] + ([alpha[T - 1, S - 2]] if S > 1 else [])
    nll = -float(_logsumexp(*ends)) if len(ends) > 1 else -float(ends[0])
    # log sum over s with l'_s = c of alpha * beta (each includes lp once too many)
    ab = alpha + beta
    lcab = np.full((T, C), -np.inf)
    for c in np.unique(ext):
        lcab[:, c] = _logsumexp(*ab[:, ext == c].T)
    with np.errstate(over="ignore", invalid="ignore"):
        grad = np.exp(lp) - np.exp(lcab + nll - lp)
    return nll, grad


class CtcLoss(Op):
    """Per-sequence negative log likelihoods (N,) of log_probs (T, N, C); targets and
    lengths are host arrays."""
    _name = "CtcLossBackward0"

    @staticmethod
    def forward(ctx, lp, targets, input_lengths, target_lengths, blank, zero_infinity,
                concatenated):
        T, N, C = lp.shape
        lp64 = to_host(lp).astype(np.float64)
        losses = np.zeros(N)
        grads = np.zeros((T, N, C))
        offset = 0
        for n in range(N):
            tl = target_lengths[n]
            if concatenated:
                labels = targets[offset:offset + tl]
                offset += tl
            else:
                labels = targets[n, :tl]
            il = input_lengths[n]
            nll, g = _one_sequence(lp64[:il, n], labels, blank)
            if zero_infinity and np.isinf(nll):
                nll, g = 0.0, np.zeros_like(g)
            losses[n] = nll
            grads[:il, n] = g
        ctx.grads = like(grads.astype(lp.dtype), lp)
        return like(losses.astype(lp.dtype), lp)

    @staticmethod
    def backward(ctx, grad):
        return apply(CtcLossBackward, (grad,), (grad._data, ctx.grads))


class CtcLossBackward(Op):
    """grad_out (N,) times the saved per-sequence gradients (T, N, C)."""
    _name = "CtcLossBackwardBackward0"

    @staticmethod
    def forward(ctx, g, grads):
        return g[None, :, None] * grads

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::_ctc_loss_backward is not implemented")


def _lengths(x, name, n):
    if isinstance(x, Tensor):
        if x.dtype.is_floating_point:
            raise RuntimeError(f"ctc_loss(): {name} must be integral, got "
                               f"{dtype_name(x.dtype)}")
        arr = x._cpu_array().reshape(-1).astype(np.int64)
    else:
        arr = as_array(list(x) if not np.isscalar(x) else [x], dtype=np.int64).reshape(-1)
    if arr.shape[0] != n:
        raise RuntimeError(f"Expected tensor to have size at least {n} at dimension 1, but got "
                           f"size {arr.shape[0]} for argument #2 '{name}' (while checking "
                           f"arguments for ctc_loss_cpu)")
    return arr


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    r"""CTC loss of log_probs (T, N, C) (or unbatched (T, C)) against targets (N, S) padded,
    or 1-D concatenated, with per-sample input_lengths and target_lengths.

    reduction "mean" divides each loss by its target length (at least 1) and averages over
    the batch; zero_infinity replaces infinite losses (impossible alignments) and their
    gradients by zero.
    """
    from .loss import reduction_enum
    reduction_enum(reduction)
    if not log_probs.dtype.is_floating_point:
        raise NotImplementedError(f"\"ctc_loss_cpu\" not implemented for "
                                  f"'{dtype_name(log_probs.dtype)}'")
    check_half_kernel(log_probs, "ctc_loss_cpu")
    unbatched = log_probs.dim() == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.dim() != 3:
        raise RuntimeError(f"ctc_loss(): log_probs must be 2-D (unbatched) or 3-D, got "
                           f"{log_probs.dim()}-D")
    T, N, C = lp.shape
    if not 0 <= blank < C:
        raise RuntimeError("blank must be in label range")
    tgt = targets._cpu_array().astype(np.int64)
    il = _lengths(input_lengths, "input_lengths", N)
    tl = _lengths(target_lengths, "target_lengths", N)
    concatenated = tgt.ndim == 1 and not unbatched
    if unbatched:
        tgt = tgt.reshape(1, -1)
    if (il > T).any():
        raise RuntimeError(f"Expected input_lengths to have value at most {T}, but got value "
                           f"{int(il.max())} (while checking arguments for ctc_loss_cpu)")
    if concatenated:
        if tgt.shape[0] < tl.sum():
            raise RuntimeError(f"Expected tensor to have size at least {int(tl.sum())} at "
                               f"dimension 0, but got size {tgt.shape[0]} for argument #2 "
                               f"'targets' (while checking arguments for ctc_loss_cpu)")
    else:
        if tgt.shape[0] != N:
            raise RuntimeError(f"Expected tensor to have size {N} at dimension 0, but got size "
                               f"{tgt.shape[0]} for argument #2 'targets' (while checking "
                               f"arguments for ctc_loss_cpu)")
        if (tl > tgt.shape[1]).any():
            raise RuntimeError(f"Expected tensor to have size at least {int(tl.max())} at "
                               f"dimension 1, but got size {tgt.shape[1]} for argument #2 "
                               f"'targets' (while checking arguments for ctc_loss_cpu)")
    losses = apply(CtcLoss, (lp,), (lp._data,), tgt, il, tl, blank, zero_infinity,
                   concatenated)
    if unbatched:
        losses = losses.squeeze(0)
    if reduction == "mean":
        from .creation import tensor
        denom = tensor(np.maximum(tl, 1), dtype=losses.dtype, device=losses.device)
        return (losses / (denom if not unbatched else denom.squeeze(0))).mean()
    if reduction == "sum":
        return losses.sum()
    return losses

