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


_CHECKING = " (while checking arguments for ctc_loss_allocate_outputs)"


def _lengths(x, name):
    if isinstance(x, Tensor):
        if x.dtype.is_floating_point or x.dtype.is_complex or x.dtype.name == "bool":
            raise RuntimeError(f"{name} must be integral")
        return x._cpu_array().reshape(-1).astype(np.int64)
    return as_array(list(x) if not np.isscalar(x) else [x], dtype=np.int64).reshape(-1)


def _check_lengths(name, lengths, top=None):
    """PyTorch's checks of the values of one per-sample lengths list, in its words."""
    if (lengths < 0).any():
        raise RuntimeError(f"Expected {name} to have value at least 0, but got value "
                           f"{int(lengths[lengths < 0][0])}{_CHECKING}")
    if top is not None and (lengths > top).any():
        raise RuntimeError(f"Expected {name} to have value at most {top}, but got value "
                           f"{int(lengths[lengths > top][0])}{_CHECKING}")


def _check_labels(tgt, tl, concatenated, C):
    """The labels the loss reads must name classes of log_probs: PyTorch's CPU kernel does
    not check them (it reads outside log_probs); ember refuses them."""
    used = tgt if concatenated else tgt[np.arange(tgt.shape[1]) < tl[:, None]]
    bad = used[(used < 0) | (used >= C)]
    if bad.size:
        raise RuntimeError(f"ctc_loss(): target label {int(bad[0])} is out of range for "
                           f"log_probs with {C} classes")


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
    il = _lengths(input_lengths, "input_lengths")
    tl = _lengths(target_lengths, "target_lengths")
    if not log_probs.dtype.is_floating_point:
        raise NotImplementedError(f"\"ctc_loss_cpu\" not implemented for "
                                  f"'{dtype_name(log_probs.dtype)}'")
    check_half_kernel(log_probs, "ctc_loss_cpu")
    # (as PyTorch, anything but 3-D is taken for unbatched and gains a batch dim)
    unbatched = log_probs.dim() != 3
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.dim() != 3:
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {lp.dim()}-dimensional "
                           f"tensor for argument #1 'log_probs'{_CHECKING}")
    tgt = targets._cpu_array().astype(np.int64)
    if unbatched:
        tgt = tgt.reshape((1,) + tgt.shape)
    if not 1 <= tgt.ndim <= 2:
        raise RuntimeError(f"Expected 1 to 2 dimensions, but got {tgt.ndim}-dimensional tensor "
                           f"for argument #2 'targets'{_CHECKING}")
    T, N, C = lp.shape
    if not 0 <= blank < C:
        raise RuntimeError("blank must be in label range")
    for name, lengths in (("input_lengths", il), ("target_lengths", tl)):
        if lengths.shape[0] != N:
            raise RuntimeError(f"{name} must be of size batch_size")
    _check_lengths("target_lengths", tl)
    concatenated = tgt.ndim == 1
    if concatenated:
        if tgt.shape[0] != tl.sum():
            raise RuntimeError(f"Expected tensor to have size {int(tl.sum())} at dimension 0, "
                               f"but got size {tgt.shape[0]} for argument #2 'targets'"
                               f"{_CHECKING}")
    else:
        if tgt.shape[0] != N:
            raise RuntimeError(f"Expected tensor to have size {N} at dimension 0, but got size "
                               f"{tgt.shape[0]} for argument #2 'targets'{_CHECKING}")
        if (tl > tgt.shape[1]).any():
            raise RuntimeError(f"Expected tensor to have size at least {int(tl.max())} at "
                               f"dimension 1, but got size {tgt.shape[1]} for argument #2 "
                               f"'targets'{_CHECKING}")
    _check_lengths("input_lengths", il, top=T)
    _check_labels(tgt, tl, concatenated, C)
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

