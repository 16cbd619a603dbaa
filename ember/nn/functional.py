"""ember.nn.functional: the op layer's public face for networks (torch.nn.functional).

A thin namespace: the functions are written in ember/_ops/ (the ops with nodes of their
own) and in ember/nn/_functional/, one family a module (activation, dropout, loss,
distance, conv, pooling, misc); this module publishes them under PyTorch's names."""
# names the module has held since it was written here (PyTorch's has math, warnings and
# Tensor too): kept, so that dir(F) and code reaching them through F are unchanged
import math  # noqa: F401
import warnings  # noqa: F401
from .._backend import array_namespace, like  # noqa: F401
from .._tensor import Tensor  # noqa: F401
from .. import _dtype  # noqa: F401
from .._autocast import AUTOCAST as _AUTOCAST, autocast_args  # noqa: F401
from ..autograd import grad_mode  # noqa: F401
from .._ops.activation import softmax, log_softmax, gelu  # noqa: F401
from .._ops.layers import linear, feature_dropout  # noqa: F401
from .._ops.loss import (mse_loss, l1_loss, nll_loss, cross_entropy,  # noqa: F401
                         binary_cross_entropy, binary_cross_entropy_with_logits)
from .._ops.pointwise import where, sigmoid, tanh  # noqa: F401
from .._ops._util import dtype_name, shape_str, check_half_kernel  # noqa: F401
from .._ops.half_precision import computes_in_float32  # noqa: F401

from ._functional.activation import (  # noqa: F401
    relu, relu_, relu6, leaky_relu, leaky_relu_, elu, elu_, selu, selu_, celu, celu_,
    softplus, silu, mish, hardtanh, hardtanh_, hardsigmoid, hardswish, hardshrink,
    softshrink, tanhshrink, softsign, threshold, threshold_, logsigmoid, glu, prelu, rrelu,
    rrelu_, softmin, gumbel_softmax,
    _rrelu)   # (torch.rrelu's generator= form, ember/_functional_aliases.py)
from ._functional.dropout import (  # noqa: F401
    dropout, dropout1d, dropout2d, dropout3d, alpha_dropout, feature_alpha_dropout)
from ._functional.loss import (  # noqa: F401
    smooth_l1_loss, huber_loss, kl_div, soft_margin_loss, margin_ranking_loss,
    hinge_embedding_loss, poisson_nll_loss, gaussian_nll_loss, cosine_embedding_loss,
    triplet_margin_loss, multilabel_soft_margin_loss, multi_margin_loss,
    multilabel_margin_loss, triplet_margin_with_distance_loss, linear_cross_entropy,
    _margin_ranking)   # (torch.margin_ranking_loss, ember/_functional_aliases.py)
from ._functional.distance import cosine_similarity, pairwise_distance, normalize  # noqa
from ._functional.misc import one_hot, bilinear  # noqa: F401
from ._functional.conv import (  # noqa: F401
    conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d)
from ._functional.pooling import (  # noqa: F401
    max_pool1d, max_pool2d, max_pool3d, max_pool1d_with_indices, max_pool2d_with_indices,
    max_pool3d_with_indices, avg_pool1d, avg_pool2d, avg_pool3d, adaptive_avg_pool1d,
    adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool1d, adaptive_max_pool2d,
    adaptive_max_pool3d, adaptive_max_pool1d_with_indices, adaptive_max_pool2d_with_indices,
    adaptive_max_pool3d_with_indices, fractional_max_pool2d, fractional_max_pool3d,
    fractional_max_pool2d_with_indices, fractional_max_pool3d_with_indices, max_unpool1d,
    max_unpool2d, max_unpool3d, lp_pool1d, lp_pool2d, lp_pool3d)
from .._ops.padding import pad  # noqa: F401


# ---------------------------------------------------------------------------- normalization
from .._ops.norm import (batch_norm, layer_norm, group_norm, instance_norm, rms_norm,  # noqa
                         local_response_norm)
from .._ops.embedding import embedding, embedding_bag  # noqa


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


# ---------------------------------------------------------------------------- grouped and scaled matmuls
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


def _publish_here():
    """Name the functions written in ember/nn/_functional/ after this module, as PyTorch's
    are named torch.nn.functional.X: pickle records a function as (module, qualname), so a
    pickled model holding F.gelu, or a torch-format checkpoint, records the public path.
    (The pooling functions, made by factories, are named by ember/_pickle_names.py.)"""
    import types
    private = __name__.rpartition(".")[0] + "._functional."
    for name, value in globals().items():
        if isinstance(value, types.FunctionType) and value.__qualname__ == name and \
                value.__module__.startswith(private):
            value.__module__ = __name__


_publish_here()


def __getattr__(name):
    if name == "grad":   # torch.nn.functional.grad is the torch.nn.grad module
        from . import grad
        return grad
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
