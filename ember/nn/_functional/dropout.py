"""nn.functional's dropout family: elementwise, channel (1d/2d/3d) and alpha dropout."""
import math
import warnings

from ..._ops.layers import dropout as _dropout, feature_dropout
from .activation import _inplace_result


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
    from ..._ops.creation import empty
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
