"""nn.functional's losses composed from ops (smooth_l1 ... linear_cross_entropy); the
losses with a node of their own (mse, l1, nll, cross_entropy, binary_cross_entropy, ctc)
are in ember/_ops/loss.py and ember/_ops/ctc.py."""
import math
import warnings

from ..._backend import array_namespace, like
from ..._tensor import Tensor
from ... import _dtype
from ..._autocast import AUTOCAST as _AUTOCAST, autocast_args
from ...autograd import grad_mode
from ..._ops.layers import linear
from ..._ops import loss as _loss
from ..._ops.loss import cross_entropy
from ..._ops.pointwise import where
from ..._ops._util import dtype_name, shape_str, check_half_kernel
from .activation import logsigmoid, _floating_only
from .distance import pairwise_distance


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    if size_average is not None or reduce is not None:
        reduction = _loss.legacy_reduction(size_average, reduce)
    if _AUTOCAST[0]:
        input, target = autocast_args("smooth_l1_loss", input, target)
    _loss.reduction_enum(reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta != 0:   # beta 0 is l1_loss, which PyTorch computes for integers too
        _no_integer_loss_kernel(input, target, "smooth_l1_cpu")
    d = (input - target).abs()
    if beta == 0:
        loss = d
    else:
        loss = where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return _loss.reduce(loss, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    if _AUTOCAST[0]:
        input, target, weight = autocast_args("huber_loss", input, target, weight)
    _loss.reduction_enum(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    dt = _no_integer_loss_kernel(input, target, "huber_cpu")
    _check_castable(dt, input.dtype)
    d = (input - target).abs()
    loss = where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    if loss.dtype != input.dtype:   # written into an output of the input's dtype
        loss = loss.to(input.dtype)
    if weight is not None:
        loss = loss * weight
    return _loss.reduce(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    if size_average is not None or reduce is not None:
        reduction = _loss.legacy_reduction(size_average, reduce)
    if _AUTOCAST[0]:
        input, target = autocast_args("kl_div", input, target)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", UserWarning, stacklevel=2)
    if not all(t.is_floating_point() or t.is_complex() for t in (input, target)):
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if input.is_complex() or target.is_complex():
        raise RuntimeError("kl_div: Complex inputs not supported.")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        from ..._ops.pointwise import xlogy
        loss = xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.dim() else loss.sum()
    return _loss.reduce(loss, _loss.reduction_enum(reduction))


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    if size_average is not None or reduce is not None:
        reduction = _loss.legacy_reduction(size_average, reduce)
    if _AUTOCAST[0]:
        input, target = autocast_args("soft_margin_loss", input, target)
    reduction = _loss.reduction_enum(reduction)
    # computed into an output of the input's shape and dtype, as PyTorch's
    shape = _broadcast_shape(input.shape, target.shape)
    if shape != tuple(input.shape):
        raise RuntimeError(f"output with shape {list(input.shape)} doesn't match the broadcast "
                           f"shape {list(shape)}")
    dt = _dtype.result_dtype(input, target)
    float_dt = dt if dt.is_floating_point or dt.is_complex else _dtype.get_default_dtype()
    _check_castable(float_dt, input.dtype)
    loss = (-input * target).exp().log1p()   # log(1 + exp(-x y)), PyTorch's formula
    return _loss.reduce(loss if loss.dtype == input.dtype else loss.to(input.dtype), reduction)


def _no_integer_loss_kernel(input, target, kernel):
    """The dtype input and target compute in; PyTorch's kernel has no integer (or complex)
    version."""
    dt = _dtype.result_dtype(input, target)
    if not dt.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{dtype_name(dt)}'")
    return dt


def _check_castable(computed, out_dtype):
    """A result of dtype `computed` can be written into an output of `out_dtype` (not a float
    into an integer output)."""
    if computed.is_floating_point and not (out_dtype.is_floating_point or out_dtype.is_complex):
        raise RuntimeError(f"result type {dtype_name(computed)} can't be cast to the desired "
                           f"output type {dtype_name(out_dtype)}")


def _broadcast_shape(a, b):
    import numpy as np
    try:
        return tuple(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        raise RuntimeError(f"The size of tensor a ({a[-1]}) must match the size of tensor b "
                           f"({b[-1]}) at non-singleton dimension "
                           f"{max(len(a), len(b)) - 1}") from None


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    if size_average is not None or reduce is not None:
        reduction = _loss.legacy_reduction(size_average, reduce)
    if not input1.dim() == input2.dim() == target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {input1.size()}, input2: {input2.size()}, "
                           f"target: {target.size()} ")
    return _margin_ranking(input1, input2, target, margin, _loss.reduction_enum(reduction))


def _margin_ranking(input1, input2, target, margin, reduction):
    """max(0, -target (input1 - input2) + margin), broadcast (torch.margin_ranking_loss,
    which does not ask for equal ranks as F.margin_ranking_loss does)."""
    loss = (-target * (input1 - input2) + margin).clamp_min(0)
    return _loss.reduce(loss, reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    if size_average is not None or reduce is not None:
        reduction = _loss.legacy_reduction(size_average, reduce)
    if _AUTOCAST[0]:
        input, target = autocast_args("hinge_embedding_loss", input, target)
    # PyTorch's formula, which also defines targets other than 1 and -1 (both terms); an
    # integer input keeps its dtype (the margin truncated to it)
    zero = 0.0
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        margin, zero = int(margin), 0
    pos = where(target != -1, input, zero)
    neg = where(target != 1, (margin - input).clamp_min(0), zero)
    return _loss.reduce(pos + neg, _loss.reduction_enum(reduction))


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    if size_average is not None or reduce is not None:
        reduction = _loss.legacy_reduction(size_average, reduce)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + where(target > 1, stirling, 0.0)
    return _loss.reduce(loss, _loss.reduction_enum(reduction))


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 * (log(max(var, eps)) + (input - target)^2 / max(var, eps)) [+ 0.5 log(2 pi)];
    var has input's shape, or input's without its last dim (one variance per sample), or
    input's with one dim (any) of size 1 where input's differs, broadcast along it."""
    if tuple(var.shape) != tuple(input.shape):
        if tuple(var.shape) == tuple(input.shape[:-1]):
            var = var.unsqueeze(-1)
        elif not (var.dim() == input.dim() and sum(
                v for n, v in zip(input.shape, var.shape) if n != v) == 1):
            # PyTorch's test: the sizes where var differs from input add up to 1
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not valid")
    with grad_mode.no_grad():
        if (var._data < 0).any():
            raise ValueError("var has negative entry/entries")
    v = var.clamp_min(eps)
    loss = 0.5 * (v.log() + (input - target) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _loss.reduce(loss, _loss.reduction_enum(reduction))


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    if size_average is not None or reduce is not None:
        reduction = _loss.legacy_reduction(size_average, reduce)
    r"""1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1, 0
    elsewhere; cos = <x1, x2> / sqrt((|x1|^2 + eps) (|x2|^2 + eps)), eps = 1e-12, over the
    last dim (PyTorch's formula: integer inputs give the default float dtype)."""
    tdim = target.dim()
    if tdim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    want = 2 if tdim == 1 else 1
    if input1.dim() != want or input2.dim() != want:
        raise RuntimeError(f"{tdim}D target tensor expects {want}D input tensors, but found "
                           f"inputs with sizes {list(input1.shape)} and {list(input2.shape)}.")
    eps = 1e-12
    prod = (input1 * input2).sum(tdim)
    cos = prod / (((input1 * input1).sum(tdim) + eps) * ((input2 * input2).sum(tdim) + eps)).sqrt()
    loss = where(target == 1, 1 - cos, 0.0) + where(target == -1, (cos - margin).clamp_min(0),
                                                     0.0)
    return _loss.reduce(loss, _loss.reduction_enum(reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    if size_average is not None or reduce is not None:
        reduction = _loss.legacy_reduction(size_average, reduce)
    _loss.reduction_enum(reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _same_ndim_triplet(anchor, positive, negative)
    d_ap = pairwise_distance(anchor, positive, p, eps)
    d_an = pairwise_distance(anchor, negative, p, eps)
    if swap:
        from ..._ops.pointwise import minimum
        d_an = minimum(d_an, pairwise_distance(positive, negative, p, eps))
    loss = (d_ap - d_an + margin).clamp_min(0)
    return _loss.reduce(loss, _loss.reduction_enum(reduction))


def _same_ndim_triplet(anchor, positive, negative):
    dims = (anchor.dim(), positive.dim(), negative.dim())
    if len(set(dims)) != 1:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have "
                           f"the same number of dimensions, but got: anchor {dims[0]}D, "
                           f"positive {dims[1]}D, and negative {dims[2]}D inputs")


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    if size_average is not None or reduce is not None:
        reduction = _loss.legacy_reduction(size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1   # the input's last dim, whatever the target broadcast to
    loss = loss.sum(class_dim) / input.shape[class_dim]
    return _loss.reduce(loss, _loss.reduction_enum(reduction))


def _as_rows(input):
    """The multi-class losses' input as (N, C): a vector is one sample; PyTorch's check
    that it is a non-empty vector or matrix (a 0-dim batch allowed)."""
    if not ((input.dim() == 2 and input.shape[1] != 0) or (input.dim() == 1 and input.shape[0])
            or input.dim() == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {shape_str(input.shape)}")
    return input.reshape(1, -1) if input.dim() < 2 else input


def _class_targets(input, target, fname, weight=None):
    """(input as (N, C), target as (N,) int64 array) with PyTorch's checks, in its order:
    input shape, target size, weight size, target dtype, target values."""
    x = _as_rows(input)
    if target.dim() > 1 or target.numel() != x.shape[0]:
        raise RuntimeError(f"{fname}: target tensor should be 1-D with size equal to the number "
                           f"of input samples (batch size). Expected target size "
                           f"[{x.shape[0]}], but got {list(target.shape)}. Input has shape "
                           f"{list(input.shape)}.")
    if weight is not None and (weight.dim() > 1 or weight.numel() != x.shape[1]):
        raise RuntimeError(f"inconsistent weight size, expected {x.shape[1]} but got "
                           f"{shape_str(weight.shape)}")
    _floating_only(input, f"{fname}_cpu_kernel")   # before the target's dtype, as PyTorch
    check_half_kernel(input, f"{fname}_cpu_kernel")
    if target.dtype is not _dtype.int64:
        raise RuntimeError(f"expected scalar type Long but found {dtype_name(target.dtype)}")
    t = target.reshape(-1)
    arr = t._data.astype("int64")
    if arr.size and (arr.min() < 0 or arr.max() >= x.shape[1]):
        raise RuntimeError("target out of range")
    return x, arr


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    r"""loss(x, y) = sum_{i != y} w_y max(0, margin - x_y + x_i)^p / C, p in {1, 2}."""
    if size_average is not None or reduce is not None:
        reduction = _loss.legacy_reduction(size_average, reduce)
    reduction = _loss.reduction_enum(reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    x, t = _class_targets(input, target, "multi_margin_loss", weight)
    C = x.shape[1]
    rows = Tensor._make(t.reshape(-1, 1))
    hinge = (margin - x.gather(1, rows) + x).clamp_min(0)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * weight[Tensor._make(t)].reshape(-1, 1)
    others = array_namespace(t).arange(C) != t.reshape(-1, 1)
    loss = (hinge * Tensor._make(others)).sum(1) / C
    if input.dim() < 2:     # one sample: the loss takes the target's shape, () or (1,)
        loss = loss.reshape(target.shape)
    return _loss.reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    r"""loss(x, y) = sum_{j in y} sum_{i not in y} max(0, 1 - (x_j - x_i)) / C, where y lists
    the target classes of a sample up to the first -1."""
    if size_average is not None or reduce is not None:
        reduction = _loss.legacy_reduction(size_average, reduce)
    reduction = _loss.reduction_enum(reduction)
    import numpy as np
    x = _as_rows(input)
    if (target.dim() > 1 or target.numel() != x.shape[1]) if input.dim() < 2 else \
            tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    _floating_only(input, "multilabel_margin_loss_forward_out_frame")
    check_half_kernel(input, "multilabel_margin_loss_forward_out_frame")
    N, C = x.shape
    tgt = target._cpu_array().reshape(N, C).astype(np.int64)  # a Python loop: on the host
    counts = np.zeros((N, C))  # how often class j is listed before the first -1
    for n in range(N):
        for j in tgt[n]:
            if j < 0:
                break
            if j >= C:
                raise RuntimeError("argument #2 'target' is out of range")
            counts[n, j] += 1
    if target.dtype is not _dtype.int64:   # PyTorch checks the values' range first
        raise RuntimeError(f"expected scalar type Long but found {dtype_name(target.dtype)}")
    is_target = counts > 0
    pair = (counts[:, :, None] * ~is_target[:, None, :]).astype(x._data.dtype)
    hinge = (1 - x.unsqueeze(2) + x.unsqueeze(1)).clamp_min(0)  # [n, j, i]
    loss = (hinge * Tensor._make(like(pair, x._data))).sum((1, 2)) / C
    if input.dim() < 2:
        loss = loss.reshape(())
    return _loss.reduce(loss, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    r"""max(d(a, p) - d(a, n) + margin, 0), d = distance_function (pairwise_distance by
    default); swap uses min(d(a, n), d(p, n)) as the negative distance."""
    reduction = _loss.reduction_enum(reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _same_ndim_triplet(anchor, positive, negative)
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        from ..._ops.pointwise import minimum
        d_neg = minimum(d_neg, dist(positive, negative))
    loss = (margin + d_pos - d_neg).clamp_min(0)
    return _loss.reduce(loss, reduction)


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None,
                         reduction="mean", ignore_index=None, label_smoothing=0.0, options=None):
    r"""cross_entropy(linear(input, W, b), target) with W of shape (C, *out, in_features)
    and b of shape (C, *out): the logits are (N, C, *out) (a K-dimensional loss when `out`
    is not empty). ignore_index None means -100 for class-index targets. `options` (a
    LinearCrossEntropyOptions) chooses PyTorch's chunked computation; ember always forms the
    logits, which gives the same values."""
    if input.dim() < 1 or input.dim() > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.dim()}")
    batch, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(f"expected equal input and linear_weight last dimensions "
                           f"(in_features), got {input.shape[-1]} and "
                           f"{linear_weight.shape[-1]}, respectively")
    num_classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(num_classes, *out_features)}, got "
                           f"{tuple(linear_bias.shape)}")
    if out_features and not batch:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape "
                           f"{tuple(linear_weight.shape)} requires batched input, "
                           f"(N, {in_features}), got unbatched input with shape "
                           f"{tuple(input.shape)}")
    logits_shape = (*batch, num_classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains "
                           "probabilities")
    flat = math.prod(out_features) * num_classes
    logits = linear(input, linear_weight.reshape(flat, in_features),
                    None if linear_bias is None else linear_bias.reshape(flat))
    return cross_entropy(logits.reshape(logits_shape), target, weight=weight,
                         ignore_index=-100 if ignore_index is None else ignore_index,
                         reduction=reduction, label_smoothing=label_smoothing)
