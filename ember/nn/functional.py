"""ember.nn.functional: the op layer's public face for networks (torch.nn.functional)."""
import math
import warnings

from .._backend import array_namespace, like
from .._tensor import Tensor
from .. import _dtype
from .._autocast import AUTOCAST as _AUTOCAST, autocast_args
from ..autograd import grad_mode
from .._ops.activation import softmax, log_softmax, gelu
from .._ops.layers import linear, dropout as _dropout, feature_dropout
from .._ops import loss as _loss
from .._ops.loss import (mse_loss, l1_loss, nll_loss, cross_entropy, binary_cross_entropy,
                         binary_cross_entropy_with_logits)
from .._ops.pointwise import where, sigmoid, tanh
from .._ops import silu_softplus as _silu_softplus
from .._ops._util import dtype_name, shape_str, check_half_kernel
from .._ops.half_precision import computes_in_float32


def _operand(input, inplace):
    """What an activation computes from: a copy of `input` when the result will be written
    into it and the graph saves it (x * sigmoid(x) reads x in backward, after the write)."""
    if inplace and input.requires_grad and grad_mode.is_grad_enabled():
        return input.clone()
    return input


def _in_float32(input, compute):
    """compute(input), for float16/bfloat16 on the input upcast to float32 and rounded once at
    the end, as PyTorch's CPU kernels do (their "opmath"): a composite run in the half type
    rounds after every step (x * sigmoid(x) twice), and bfloat16 results drift by an ulp in
    a quarter of the elements. The gradient flows through the two casts, so backward is in
    float32 too and rounds once, as PyTorch's backward kernels."""
    return computes_in_float32(compute)(input)


def _inplace_result(input, result, inplace):
    if inplace:
        from .._ops.conversion import commit_inplace
        return commit_inplace(input, result)
    return result


# ---------------------------------------------------------------------------- activations

def relu(input, inplace=False):
    return input.relu_() if inplace else input.relu()


def relu_(input):
    return input.relu_()


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope x, by its own node (LeakyReluBackward0; written
    into the input, LeakyReluBackward1)."""
    from .._ops.activation import leaky_relu as leaky_relu_op
    _floating_only(input, "leaky_relu_cpu")
    return _inplace_result(input, leaky_relu_op(input, negative_slope, inplace), inplace)


def _elu(input, alpha, scale=1.0, input_scale=1.0, celu=False):
    """scale * (x if x > 0 else alpha * expm1(x * input_scale)), PyTorch's ELU family, by
    its own node (EluBackward0, CeluBackward0: ember/_ops/activation.py)."""
    from .._ops.activation import elu as elu_op
    return elu_op(input, alpha, scale, input_scale, celu)


def _elu_inplace(input, alpha, scale=1.0, input_scale=1.0, celu=False):
    """The ELU family written into `input`, by its own node (EluBackward1, CeluBackward1),
    which saves the result: a later write into it makes backward raise, as PyTorch's."""
    from .._ops.activation import elu_result
    from .._ops.conversion import commit_inplace
    return commit_inplace(input, elu_result(input, alpha, scale, input_scale, celu))


def elu(input, alpha=1.0, inplace=False):
    _floating_only(input, "elu_cpu")
    if inplace:
        return _elu_inplace(input, alpha)
    return _elu(input, alpha)


def selu(input, inplace=False):
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    _floating_only(input, "elu_cpu")
    if inplace:
        return _elu_inplace(input, alpha, scale)
    return _elu(input, alpha, scale)


def celu(input, alpha=1.0, inplace=False):
    _floating_only(input, "elu_cpu")
    if inplace:
        return _elu_inplace(input, alpha, input_scale=1.0 / alpha, celu=True)
    return _elu(input, alpha, input_scale=1.0 / alpha, celu=True)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold: one op,
    SoftplusBackward0 (ember/_ops/silu_softplus.py)."""
    _floating_only(input, "softplus_cpu")
    return _silu_softplus.softplus(input, beta, threshold)


def silu(input, inplace=False):
    """x sigmoid(x): one op, SiluBackward0 (ember/_ops/silu_softplus.py); complex composed."""
    if not (input.is_floating_point() or input.is_complex()):
        _floating_only(input, "silu_cpu")
    x = _operand(input, inplace)
    if x.is_floating_point():
        return _inplace_result(input, _silu_softplus.silu(x), inplace)
    return _inplace_result(input, x * x.sigmoid(), inplace)


def mish(input, inplace=False):
    _floating_only(input, "mish_cpu")
    x = _operand(input, inplace)
    return _inplace_result(input, _in_float32(x, lambda x: x * softplus(x).tanh()), inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    # min_val if x <= min_val, max_val if x >= max_val, else x (NaN stays NaN); the
    # gradient passes only strictly inside (as PyTorch's: not at the bounds, not at NaN),
    # and backward reads no input, so inplace is safe
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        if input.dtype is _dtype.bool:
            raise RuntimeError("Bool inputs not supported for hardtanh")
        if not input.dtype.is_signed and (min_val < 0 or max_val < 0):
            raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits")
        min_val, max_val = int(min_val), int(max_val)   # an integer input stays integer
    inside = (input > min_val) & (input < max_val)
    outside = input.detach().clamp(min_val, max_val)   # the bounds, and NaN
    return _inplace_result(input, where(inside, input, outside), inplace)


def hardsigmoid(input, inplace=False):
    _floating_only(input, "hardsigmoid_cpu")
    result = _in_float32(input, lambda x: (x / 6 + 0.5).clamp(0, 1))
    return _inplace_result(input, result, inplace)


def hardswish(input, inplace=False):
    _floating_only(input, "hardswish_cpu")
    x = _operand(input, inplace)
    return _inplace_result(input, _in_float32(x, lambda x: x * (x + 3).clamp(0, 6) / 6), inplace)


def _floating_only(input, kernel):
    """PyTorch's CPU kernel `kernel` has no integer (or complex) version."""
    if not input.is_floating_point():
        raise NotImplementedError(f"\"{kernel}\" not implemented for "
                                  f"'{dtype_name(input.dtype)}'")


def hardshrink(input, lambd=0.5):
    """0 where -lambd <= x <= lambd, else x; NaN stays NaN, with gradient 0 (as PyTorch's)."""
    _floating_only(input, "hardshrink_cpu")
    kept = where(input.isnan(), input.detach(), input)
    return where((input >= -lambd) & (input <= lambd), 0.0, kept)


def softshrink(input, lambd=0.5):
    _floating_only(input, "softshrink_check")
    if lambd < 0:
        top = _dtype.finfo(input.dtype).max if input.is_floating_point() else math.inf
        raise RuntimeError(f"lambda must be in range [0, {top:g}] for input dtype "
                           f"{dtype_name(input.dtype)}, but found {lambd:g}")
    # x - lambd above lambd, x + lambd below -lambd, else 0; NaN stays NaN (with gradient
    # 0, as PyTorch's)
    middle = where(input.isnan(), input.detach(), 0.0)
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, middle))


def tanhshrink(input):
    return input - input.tanh()


def softsign(input):
    return input / (1 + input.abs())


def threshold(input, threshold, value, inplace=False):
    """value where x <= threshold, else x (NaN stays NaN, as PyTorch's); an integer input
    stays integer (the value truncated to it)."""
    if input.dtype is _dtype.bool:
        raise NotImplementedError("\"threshold_cpu\" not implemented for 'Bool'")
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        value = int(value)
    return _inplace_result(input, where(input <= threshold, value, input), inplace)


_threshold = threshold   # (threshold_'s argument of the same name hides the function)


def logsigmoid(input):
    _floating_only(input, "log_sigmoid_cpu")
    # PyTorch's kernel writes a row-major result (and input gradient) whatever the input's
    # layout; the composite computes on a row-major copy to match
    return _in_float32(input.contiguous(), lambda x: -softplus(-x))


def glu(input, dim=-1):
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.dim()} is "
                           f"size {input.shape[dim]}")
    _floating_only(input, "glu_cpu")
    a, b = input.chunk(2, dim)
    return _in_float32(a, lambda a: a * b.float().sigmoid()) if a.dtype in (
        _dtype.float16, _dtype.bfloat16) else a * b.sigmoid()


def prelu(input, weight):
    if _AUTOCAST[0]:
        input, weight = autocast_args("prelu", input, weight)
    if input.dim() == 0 and weight.numel() != 1:
        raise RuntimeError("Not allow zero-dim input tensor.")
    if weight.dim() > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.dim()}")
    if weight.dtype != input.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got "
                           f"{dtype_name(input.dtype)} and {dtype_name(weight.dtype)}")
    _floating_only(input, "prelu_cpu")
    channels = input.shape[1] if input.dim() >= 2 else 1
    if weight.numel() not in (1, channels):
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                           f"parameter numbers = {weight.numel()} and channel size = "
                           f"{channels}.")
    if weight.numel() != 1 and input.dim() >= 2:
        shape = [1] * input.dim()
        shape[1] = weight.numel()
        weight = weight.reshape(shape)
    elif weight.numel() == 1 and input.dim() == 0:
        weight = weight.reshape(())   # the output keeps the input's shape
    return where(input > 0, input, weight * input)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    return _rrelu(input, lower, upper, training, inplace)


def _rrelu(input, lower, upper, training, inplace, generator=None):
    """x where x > 0, else a x: a = (lower + upper) / 2 in evaluation; in training a is
    drawn uniform on [lower, upper) for each element x <= 0 (in row-major order, whatever
    the input's layout, as PyTorch draws), and the gradient is the slope used. One node
    (RreluWithNoiseBackward0; written into the input, RreluWithNoiseBackward1)."""
    from .._ops.activation import rrelu as rrelu_op
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if not training:
        return _inplace_result(input, rrelu_op(input, None, lower, upper, False, inplace),
                               inplace)
    from .. import _sampling
    from .._random import gen_of
    import numpy as np
    x = input._cpu_array()
    flat = x.reshape(-1)   # PyTorch draws in row-major order, whatever the layout
    drawn = flat <= 0
    acc = np.float64 if input.dtype is _dtype.float64 else np.float32
    lo, hi = float(acc(lower)), float(acc(upper))
    slope = np.ones(flat.shape, dtype=np.float64)
    slope[drawn] = _sampling.uniform(gen_of(generator), int(drawn.sum()), _dtype.float64, lo, hi)
    slope = slope.astype(acc).astype(input.dtype.np).reshape(x.shape)
    # np.ascontiguousarray would make a 0-dim slope 1-dim (and the result with it)
    noise = like(np.array(slope, order="C"), input._data)
    return _inplace_result(input, rrelu_op(input, noise, lower, upper, True, inplace), inplace)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return softmax(-input, dim, dtype=dtype)


# in-place spellings (F.elu_ ...): the activation written into its input
def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def selu_(input):
    return selu(input, inplace=True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


def threshold_(input, threshold, value):
    return _threshold(input, threshold, value, True)


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    r"""Sample from the Gumbel-softmax (Concrete) distribution: softmax((logits + g) / tau)
    along dim, g = -log(E) with E ~ Exponential(1) (standard Gumbel noise). With hard=True
    the result is the one-hot vector of the sample's argmax in the forward pass, with the
    soft sample's gradient (straight-through: y_hard - y_soft.detach() + y_soft)."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    from .._ops.creation import empty_like
    gumbels = -empty_like(logits).exponential_().log()
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    from .._ops.creation import zeros_like
    y_hard = zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


# ---------------------------------------------------------------------------- dropout

def dropout(input, p=0.5, training=True, inplace=False):
    return _dropout(input, p, training, inplace)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Channel dropout of (N, C, L) or unbatched (C, L) inputs: each channel is zeroed
    with probability p, the kept ones scaled by 1 / (1 - p)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. "
            "Note that dropout1d exists to provide channel-wise dropout on inputs with 1 "
            "spatial dimension, a channel dimension, and an optional batch dimension "
            "(i.e. 2D or 3D inputs).")
    return feature_dropout(input, p, training, inplace, batched=input.dim() == 3)


def _warn_feature_dims(name, input, spatial):
    """PyTorch's deprecation warning for dropout2d/3d inputs of other ranks than
    spatial + 1 or spatial + 2 dimensions (they still run, as PyTorch's do)."""
    if input.dim() not in (spatial + 1, spatial + 2):
        warnings.warn(
            f"{name}: Received a {input.dim()}-D input to {name}, which is deprecated "
            "and will result in an error in a future release. To retain the behavior "
            "and silence this warning, please use dropout instead. Note that "
            f"{name} exists to provide channel-wise dropout on inputs with {spatial} "
            "spatial dimensions, a channel dimension, and an optional batch dimension "
            f"(i.e. {spatial + 1}D or {spatial + 2}D inputs).", stacklevel=3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Channel dropout of (N, C, H, W) inputs: one draw per (N, C) plane. As PyTorch's,
    every input of 2 or more dims is read as batched: a 3-D input is (N, C, L) (1-D
    channel dropout, with PyTorch's warning), a 2-D one (N, C) (elementwise)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    _warn_feature_dims("dropout2d", input, 2)
    if input.dim() == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
            "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
            "where C is the channel dim. This behavior will change in a future release to "
            "interpret the input as one without a batch dimension, i.e. shape (C, H, W). To "
            "maintain the 1D channel-wise dropout behavior, please switch to using "
            "dropout1d instead.", stacklevel=2)
    return feature_dropout(input, p, training, inplace, batched=True)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Channel dropout of (N, C, D, H, W) inputs: one draw per (N, C) volume; any other
    rank is read as unbatched (C, *), one draw per leading entry (PyTorch's rule)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    _warn_feature_dims("dropout3d", input, 3)
    return feature_dropout(input, p, training, inplace, batched=input.dim() == 5)


def _alpha_dropout(input, p, training, inplace, feature):
    r"""Alpha dropout (Klambauer et al., 2017), which keeps SELU's zero mean and unit
    variance: a dropped unit becomes alpha' = -scale * alpha = -1.7581 instead of 0, then
    y = a (x m + alpha' (1 - m)) + b with m ~ Bernoulli(1 - p),
    a = ((1 - p)(1 + p alpha'^2))^(-1/2) and b = -a alpha' p. `feature` draws one m per
    (N, C) plane (whole channels), as FeatureAlphaDropout."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or input.numel() == 0:
        return input
    if feature and input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if p == 1:   # every unit dropped: zeros (times the input, so NaNs stay, as PyTorch's)
        return _inplace_result(input, input * 0.0, inplace)
    alpha = 1.7580993408473766
    shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2) if feature else input.shape
    from .._ops.creation import empty
    # PyTorch's order of operations (so the values match it): keep ~ Bernoulli(1 - p),
    # b = (keep - 1) alpha a + alpha a p, y = x (keep a) + b
    keep = empty(shape, dtype=input.dtype, device=input.device).bernoulli_(1 - p)
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    b = keep.add(-1).mul_(alpha * a).add_(alpha * a * p)
    return _inplace_result(input, input * keep.mul_(a) + b, inplace)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    return _alpha_dropout(input, p, training, inplace, feature=False)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels: each (N, C) plane is kept or set to alpha' as one."""
    return _alpha_dropout(input, p, training, inplace, feature=True)


# ---------------------------------------------------------------------------- losses

def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    if size_average is not None or reduce is not None:
        reduction = _loss.legacy_reduction(size_average, reduce)
    if _AUTOCAST[0]:
        input, target = autocast_args("smooth_l1_loss", input, target)
    _loss.reduction_enum(reduction)
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
        from .._ops.pointwise import xlogy
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


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1/max(||x1||, eps) * x2/max(||x2||, eps)) along dim. As in PyTorch the clamp
    acts on the value only: the norm's gradient is the unclamped one (finite at 0)."""
    from .._ops.reduction import vector_norm

    def unit(x):
        n = vector_norm(x, 2, dim=dim, keepdim=True)
        return x / (n + (n.clamp_min(eps) - n).detach())
    return (unit(x1) * unit(x2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    d = x1 - x2 + eps
    from .._ops.reduction import vector_norm
    return vector_norm(d, p, dim=-1, keepdim=keepdim)


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
        from .._ops.pointwise import minimum
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


# ---------------------------------------------------------------------------- misc

def one_hot(tensor, num_classes=-1):
    import numpy as np
    if tensor.dtype is not _dtype.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    arr = tensor._data
    if num_classes == -1:
        num_classes = int(arr.max()) + 1 if arr.size else 0
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes." if arr.size and
                           arr.min() >= 0 else "Class values must be non-negative.")
    classes = array_namespace(arr).arange(num_classes)
    return Tensor._make((arr[..., None] == classes).astype(np.int64))


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p along dim, eps); written into `out` when given."""
    from .._ops.reduction import vector_norm
    denom = vector_norm(input, p, dim=dim, keepdim=True).clamp_min(eps)
    if out is None:
        return input / denom
    from .._ops.pointwise import div
    return div(input, denom, out=out)


def bilinear(input1, input2, weight, bias=None):
    """y = x1^T A x2 + b over the last dims."""
    from .._ops.linalg import einsum
    out = einsum("...i,oij,...j->...o", input1, weight, input2)
    return out + bias if bias is not None else out


# ---------------------------------------------------------------------------- convolution
from .._ops.conv import convolution as _convolution, conv_transpose as _conv_transpose  # noqa
from .._ops.padding import pad  # noqa: E402,F401


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _convolution(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _convolution(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _convolution(3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


# ---------------------------------------------------------------------------- pooling
from .._ops import pooling as _P  # noqa: E402


def _pool_fns(nd):
    def max_pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 return_indices=False):
        return _P.max_pool(nd, input, kernel_size, stride, padding, dilation, ceil_mode,
                           return_indices)

    def max_pool_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                              ceil_mode=False, return_indices=True):
        return _P.max_pool(nd, input, kernel_size, stride, padding, dilation, ceil_mode, True)

    def avg_pool(input, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        return _P.avg_pool(nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                           divisor_override)

    def adaptive_avg(input, output_size):
        return _P.adaptive_pool(nd, input, output_size, "avg")

    def adaptive_max(input, output_size, return_indices=False):
        return _P.adaptive_pool(nd, input, output_size, "max", return_indices)

    def max_unpool(input, indices, kernel_size, stride=None, padding=0, output_size=None):
        return _P.max_unpool(nd, input, indices, kernel_size, stride, padding, output_size)

    def lp_pool(input, norm_type, kernel_size, stride=None, ceil_mode=False):
        return _P.lp_pool(nd, input, norm_type, kernel_size, stride, ceil_mode)
    return (max_pool, max_pool_with_indices, avg_pool, adaptive_avg, adaptive_max, max_unpool,
            lp_pool)


(max_pool1d, max_pool1d_with_indices, avg_pool1d, adaptive_avg_pool1d, adaptive_max_pool1d,
 max_unpool1d, lp_pool1d) = _pool_fns(1)
(max_pool2d, max_pool2d_with_indices, avg_pool2d, adaptive_avg_pool2d, adaptive_max_pool2d,
 max_unpool2d, lp_pool2d) = _pool_fns(2)
(max_pool3d, max_pool3d_with_indices, avg_pool3d, adaptive_avg_pool3d, adaptive_max_pool3d,
 max_unpool3d, lp_pool3d) = _pool_fns(3)


def _with_indices_fns(nd):
    def adaptive_max_with_indices(input, output_size, return_indices=False):
        """Adaptive max pooling that returns (values, indices) whatever return_indices says."""
        return _P.adaptive_pool(nd, input, output_size, "max", True)

    def fractional_max_pool_with_indices(input, kernel_size, output_size=None,
                                         output_ratio=None, return_indices=False,
                                         _random_samples=None):
        """Fractional max pooling that returns (values, indices)."""
        return _P.fractional_max_pool(nd, input, kernel_size, output_size, output_ratio, True,
                                      _random_samples)

    def fractional_max_pool(input, kernel_size, output_size=None, output_ratio=None,
                            return_indices=False, _random_samples=None):
        """Max over k-sized windows at pseudo-random, increasing starts that cover the input
        (Graham, "Fractional Max-Pooling", 2014); output_size, or output_ratio r giving
        int(n r) per spatial dim. `_random_samples` (N, C, nd) in [0, 1) fix the windows."""
        return _P.fractional_max_pool(nd, input, kernel_size, output_size, output_ratio,
                                      return_indices, _random_samples)
    return adaptive_max_with_indices, fractional_max_pool_with_indices, fractional_max_pool


adaptive_max_pool1d_with_indices = _with_indices_fns(1)[0]
(adaptive_max_pool2d_with_indices, fractional_max_pool2d_with_indices,
 fractional_max_pool2d) = _with_indices_fns(2)
(adaptive_max_pool3d_with_indices, fractional_max_pool3d_with_indices,
 fractional_max_pool3d) = _with_indices_fns(3)


# ---------------------------------------------------------------------------- normalization
from .._ops.norm import (batch_norm, layer_norm, group_norm, instance_norm, rms_norm,  # noqa
                         local_response_norm, embedding, embedding_bag)


# ---------------------------------------------------------------------------- attention
from .._ops.attention import (scaled_dot_product_attention,  # noqa: E402,F401
                              multi_head_attention_forward)


# ---------------------------------------------------------------------------- resampling
from .._ops.interpolate import (interpolate, upsample, upsample_nearest,  # noqa: E402,F401
                                upsample_bilinear)
from .._ops.fold import (fold, unfold, pixel_shuffle, pixel_unshuffle,  # noqa: E402,F401
                         channel_shuffle, native_channel_shuffle)


# ---------------------------------------------------------------------------- more losses
from .._ops.ctc import ctc_loss  # noqa: E402,F401


def _class_targets(input, target, fname, weight=None):
    """(input as (N, C), target as (N,) int64 array) with PyTorch's checks, in its order:
    input shape, target size, weight size, target dtype, target values."""
    if not ((input.dim() == 2 and input.shape[1] != 0) or (input.dim() == 1 and input.shape[0])
            or input.dim() == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {shape_str(input.shape)}")
    x = input.reshape(1, -1) if input.dim() < 2 else input
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
    import numpy as np
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
    if not ((input.dim() == 2 and input.shape[1] != 0) or (input.dim() == 1 and input.shape[0])
            or input.dim() == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {shape_str(input.shape)}")
    x = input.reshape(1, -1) if input.dim() < 2 else input
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
        from .._ops.pointwise import minimum
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


from .._ops.grouped_mm import (grouped_mm, scaled_mm, scaled_grouped_mm,  # noqa: E402,F401
                               _ScalingType as ScalingType, _SwizzleType as SwizzleType)


# ---------------------------------------------------------------------------- spatial transformers
from .._ops.grid_sample import affine_grid, grid_sample  # noqa: E402,F401

# the mode names grid_sample accepts, with the codes PyTorch's kernels use
GRID_SAMPLE_INTERPOLATION_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
GRID_SAMPLE_PADDING_MODES = {"zeros": 0, "border": 1, "reflection": 2}


# ---------------------------------------------------------------------------- distances
from .._ops.statistics import pdist  # noqa: E402,F401  (torch.pdist: one op, two names)


# ---------------------------------------------------------------------------- __torch_function__
# the protocol's checks PyTorch's Python code makes (torch.overrides)
from ..overrides import (has_torch_function, has_torch_function_unary,  # noqa: E402,F401
                         has_torch_function_variadic, handle_torch_function)


def __getattr__(name):
    if name == "grad":   # torch.nn.functional.grad is the torch.nn.grad module
        from . import grad
        return grad
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
