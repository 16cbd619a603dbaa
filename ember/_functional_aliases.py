"""The torch.* spellings of nn.functional ops (``torch.softmax``, ``torch.conv2d``,
``torch.batch_norm`` ...). Most share nn.functional's signature; the few whose
torch-level argument order differs get a thin adapter here."""
import numpy as np

from ._tensor import Tensor
from ._ops._util import check_tensor as _check_tensor
from ._ops import loss as _loss
from .autograd import grad_mode as _grad_mode
from .nn import functional as F
from .nn.modules.module import Module as _Module
from .nn.modules import rnn as _rnn
from .nn.utils.rnn import PackedSequence as _PackedSequence

__all__ = ["softmax", "log_softmax", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
           "conv_transpose2d", "conv_transpose3d", "dropout", "alpha_dropout",
           "feature_dropout", "layer_norm", "group_norm", "batch_norm", "instance_norm",
           "embedding", "relu_", "selu", "celu", "prelu", "rrelu", "hardshrink", "threshold",
           "bilinear", "cosine_similarity", "pairwise_distance", "max_pool1d", "max_pool2d",
           "max_pool3d", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d", "rms_norm",
           "selu_", "celu_", "threshold_", "dropout_"]

conv1d, conv2d, conv3d = F.conv1d, F.conv2d, F.conv3d
conv_transpose1d, conv_transpose2d, conv_transpose3d = (F.conv_transpose1d, F.conv_transpose2d,
                                                        F.conv_transpose3d)
layer_norm, group_norm, rms_norm = F.layer_norm, F.group_norm, F.rms_norm
selu, celu, prelu, hardshrink, threshold = F.selu, F.celu, F.prelu, F.hardshrink, F.threshold
bilinear, cosine_similarity, pairwise_distance = F.bilinear, F.cosine_similarity, \
    F.pairwise_distance
max_pool1d, max_pool2d, max_pool3d, avg_pool1d = F.max_pool1d, F.max_pool2d, F.max_pool3d, \
    F.avg_pool1d
adaptive_avg_pool1d = F.adaptive_avg_pool1d


def softmax(input, dim, dtype=None):
    return F.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, dtype=None):
    return F.log_softmax(input, dim, dtype=dtype)


def adaptive_max_pool1d(input, output_size):
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def dropout(input, p, train):
    return F.dropout(input, p, train)


def dropout_(input, p, train):
    return F.dropout(input, p, train, inplace=True)


def alpha_dropout(input, p, train):
    return F.alpha_dropout(input, p, train)


def feature_dropout(input, p, train):
    return _aten_feature_dropout(input, p, train, False)


def relu_(input):
    return input.relu_()


def selu_(input):
    return F.selu(input, inplace=True)


def celu_(input, alpha=1.0):
    return F.celu(input, alpha, inplace=True)


def threshold_(input, threshold, value):
    return F.threshold(input, threshold, value, inplace=True)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    return F._rrelu(input, lower, upper, training, False, generator)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
               cudnn_enabled=True):
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum,
                  eps, cudnn_enabled=True):
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                           momentum, eps)


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    return F.embedding(indices, weight, None if padding_idx == -1 else padding_idx,
                       scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


# ---------------------------------------------------------------------------- torch-level losses
# The torch.* losses take the reduction as ATen's integer: 1 mean, 2 sum, anything else
# none. PyTorch's Python binding reads the schema default (Reduction::Mean) as 0, so a
# torch-level loss called without `reduction` returns the unreduced loss; the defaults
# below say so.
_REDUCTION = {1: "mean", 2: "sum"}


def _reduction(reduction):
    return _REDUCTION.get(reduction, "none")


def _tensor_arg(x, fname, argname, pos=1):
    return _check_tensor(x, fname, argname, pos)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    _tensor_arg(input, "binary_cross_entropy_with_logits", "input")
    return F.binary_cross_entropy_with_logits(
        input, target, weight, reduction=_reduction(reduction), pos_weight=pos_weight)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=0):
    _tensor_arg(input1, "cosine_embedding_loss", "input1")
    return F.cosine_embedding_loss(input1, input2, target, margin,
                                   reduction=_reduction(reduction))


def kl_div(input, target, reduction=0, *, log_target=False):
    """KL divergence; reduction 1 is the mean over all elements (what F.kl_div warns about)."""
    _tensor_arg(input, "kl_div", "input")
    loss = F.kl_div(input, target, reduction="none", log_target=log_target)
    return _loss.reduce(loss, _reduction(reduction))


def hinge_embedding_loss(input, target, margin=1.0, reduction=0):
    _tensor_arg(input, "hinge_embedding_loss", "input")
    return F.hinge_embedding_loss(input, target, margin,
                                  reduction=_reduction(reduction))


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=0):
    _tensor_arg(input1, "margin_ranking_loss", "input1")
    return F._margin_ranking(input1, input2, target, margin,
                             _loss.reduction_enum(_reduction(reduction)))


def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    _tensor_arg(input, "poisson_nll_loss", "input")
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps,
                              reduction=_reduction(reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False,
                        reduction=0):
    _tensor_arg(anchor, "triplet_margin_loss", "anchor")
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                 reduction=_reduction(reduction))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0,
             zero_infinity=False):
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                      _reduction(reduction), zero_infinity)


# ---------------------------------------------------------------------------- layers
def constant_pad_nd(input, pad, value=0):
    """input padded with `value`: pad = (left_last, right_last, left_prev, ...); negative
    amounts crop."""
    _tensor_arg(input, "constant_pad_nd", "input")
    return F.pad(input, tuple(pad), "constant", value)


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
                groups):
    """ATen's one convolution entry: conv{1,2,3}d, or conv_transpose{1,2,3}d when
    `transposed`, chosen by weight's dimension (N spatial dims: weight is (N+2)-D)."""
    _tensor_arg(input, "convolution", "input")
    nd = weight.dim() - 2
    if nd not in (1, 2, 3):
        raise RuntimeError(f"convolution: expected weight to be 3-, 4- or 5-D, but got "
                           f"{weight.dim()}-D weight of size {list(weight.shape)}")
    if transposed:
        return getattr(F, f"conv_transpose{nd}d")(input, weight, bias, stride, padding,
                                                   output_padding, groups, dilation)
    return getattr(F, f"conv{nd}d")(input, weight, bias, stride, padding, dilation, groups)


def conv_tbc(input, weight, bias, pad=0):
    """1-D convolution in time-batch-channel layout: input (T, B, C_in), weight
    (K, C_in, C_out), bias (C_out,) -> (T + 2 pad - K + 1, B, C_out)."""
    _tensor_arg(input, "conv_tbc", "input")
    if input.dim() != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.dim() != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, "
                           "out_channels.")
    if bias.dim() != 1:
        raise RuntimeError("Bias must be 1-D")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if weight.shape[2] != bias.shape[0]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    out = F.conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)


_INTERPOLATION = {0: "bilinear", 1: "nearest", 2: "bicubic"}
_PADDING_MODE = {0: "zeros", 1: "border", 2: "reflection"}


def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners):
    """F.grid_sample with ATen's integer modes: interpolation 0 bilinear, 1 nearest,
    2 bicubic; padding 0 zeros, 1 border, 2 reflection."""
    _tensor_arg(input, "grid_sampler", "input")
    return F.grid_sample(input, grid, _INTERPOLATION[interpolation_mode],
                         _PADDING_MODE[padding_mode], align_corners)


def grid_sampler_2d(input, grid, interpolation_mode, padding_mode, align_corners):
    _tensor_arg(input, "grid_sampler_2d", "input")
    if input.dim() != 4:
        raise RuntimeError(f"grid_sampler(): expected 4D input and grid with same number of "
                           f"dimensions, but got input with sizes {list(input.shape)} and grid "
                           f"with sizes {list(grid.shape)}")
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


def grid_sampler_3d(input, grid, interpolation_mode, padding_mode, align_corners):
    _tensor_arg(input, "grid_sampler_3d", "input")
    if input.dim() != 5:
        raise RuntimeError(f"grid_sampler(): expected 5D input and grid with same number of "
                           f"dimensions, but got input with sizes {list(input.shape)} and grid "
                           f"with sizes {list(grid.shape)}")
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


def affine_grid_generator(theta, size, align_corners):
    _tensor_arg(theta, "affine_grid_generator", "theta")
    return F.affine_grid(theta, list(size), align_corners)


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1,
                            ceil_mode=False):
    """(values, indices) of 1-D max pooling; an empty stride means stride = kernel_size."""
    _tensor_arg(input, "max_pool1d_with_indices", "input")
    return F.max_pool1d(input, kernel_size, stride if stride not in ((), []) else None, padding,
                        dilation, ceil_mode, return_indices=True)


def embedding_renorm_(input, indices, max_norm, norm_type):
    """Scale, in place and outside autograd, each row of `input` named in `indices` whose
    p-norm exceeds max_norm by max_norm / (norm + 1e-7)."""
    _tensor_arg(input, "embedding_renorm_", "input")
    if input.dim() != 2:
        raise RuntimeError(f"embedding_renorm_(): expected 2-D weight, but got {input.dim()}-D")
    with _grad_mode.no_grad():
        rows = indices.reshape(-1).unique()
        norms = input[rows].norm(norm_type, 1, keepdim=True)
        scale = (max_norm / (norms + 1e-7)).where(norms > max_norm, norms.new_ones(()))
        input[rows] = input[rows] * scale
    return input


def embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """ATen's embedding bag: (output, offset2bag, bag_size, max_indices), mode 0 sum, 1 mean,
    2 max. offset2bag[i] is the bag of indices[i], bag_size the count of non-padding
    indices of each bag and max_indices, for mode 2, the row each maximum came from; for
    sum and mean the CPU kernel leaves them as PyTorch's does (sum: no offset2bag without
    padding_idx and zero sizes; mean: max_indices repeats bag_size)."""
    if mode not in (0, 1, 2):
        raise RuntimeError(f"embedding_bag: mode must be 0 (sum), 1 (mean) or 2 (max), got {mode}")
    _tensor_arg(weight, "embedding_bag", "weight")
    out = F.embedding_bag(indices, weight, offsets, None, 2, scale_grad_by_freq,
                          ("sum", "mean", "max")[mode], sparse, per_sample_weights,
                          include_last_offset, padding_idx)
    idx = indices._cpu_array().reshape(-1)
    off = offsets._cpu_array().astype(np.int64).reshape(-1)
    nbags = out.shape[0]
    starts = off[:nbags]
    ends = np.append(off[1:], idx.size)[:nbags] if not include_last_offset else off[1:nbags + 1]
    bag_of = np.zeros(idx.size, np.int64)
    for b in range(nbags):
        bag_of[starts[b]:ends[b]] = b
    keep = np.ones(idx.size, bool) if padding_idx is None else idx != padding_idx % weight.shape[0]
    sizes = np.array([keep[s:e].sum() for s, e in zip(starts, ends)], np.int64)
    def on_device(*arrays):   # the bookkeeping is computed on the host
        return tuple(Tensor._make(a).to(weight.device) for a in arrays)
    if mode == 0:
        offset2bag = bag_of if padding_idx is not None else np.zeros(0, np.int64)
        return (out,) + on_device(offset2bag, np.zeros(nbags, np.int64),
                                  np.zeros(nbags, np.int64))
    if mode == 1:
        return (out,) + on_device(bag_of, sizes, sizes.copy())
    w = weight.detach()._cpu_array()
    arg = np.zeros((nbags, w.shape[1]), np.int64)
    for b, (s, e) in enumerate(zip(starts, ends)):
        rows = idx[s:e][keep[s:e]]
        if rows.size:
            arg[b] = rows[np.argmax(w[rows], axis=0)]
    return (out,) + on_device(bag_of, sizes, arg)


# ---------------------------------------------------------------------------- native_* (ATen)
def native_layer_norm(input, normalized_shape, weight, bias, eps):
    """(layer_norm(input), mean, rstd); mean and rstd = 1/sqrt(var + eps) keep the
    normalized dims as size 1."""
    _tensor_arg(input, "native_layer_norm", "input")
    dims = tuple(range(input.dim() - len(normalized_shape), input.dim()))
    out = F.layer_norm(input, list(normalized_shape), weight, bias, eps)
    x = input.detach()
    mean = x.mean(dims, keepdim=True)
    rstd = (x.var(dims, unbiased=False, keepdim=True) + eps).rsqrt()
    return out, mean, rstd


def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """(batch_norm(input), save_mean, save_invstd): in training the batch's per-channel mean
    and 1/sqrt(biased var + eps); in evaluation two empty tensors."""
    _tensor_arg(input, "native_batch_norm", "input")
    dims = (0,) + tuple(range(2, input.dim()))
    x = input.detach()
    if training:
        mean = x.mean(dims)
        invstd = (x.var(dims, unbiased=False) + eps).rsqrt()
    else:
        mean = invstd = x.new_empty((0,))
    out = F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    return out, mean, invstd


def native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    """(group_norm(input), mean, rstd) with mean and rstd = 1/sqrt(biased var + eps) of
    each (sample, group), shape (N, group)."""
    _tensor_arg(input, "native_group_norm", "input")
    out = F.group_norm(input, group, weight, bias, eps)
    # unlike native_layer_norm's and native_batch_norm's, these statistics are
    # differentiable in PyTorch: computed here from the input, with the graph
    if not input.numel():
        # an empty batch: no size to infer -1 from, and the (N, group) statistics are empty
        # (built from the input, so in the graph as PyTorch's, without var's warning)
        x = input.reshape(N, group, 0)
        return out, x.mean(-1), (x.square().mean(-1) + eps).rsqrt()
    x = input.reshape(N, group, -1)
    return out, x.mean(-1), (x.var(-1, unbiased=False) + eps).rsqrt()


def native_dropout(input, p, train):
    """(dropout(input), keep mask): train=None counts as training; out of training the
    input comes back as a copy with an all-True mask."""
    _tensor_arg(input, "native_dropout", "input")
    if train is False:
        return input.clone(), input.new_ones(input.shape).bool()
    if p == 1:
        return input * 0, input.new_zeros(input.shape).bool()
    mask = input.new_empty(input.shape).bernoulli_(1 - p).bool()
    return input * mask / (1 - p), mask


def native_norm(input, p=2, dim=None, keepdim=False, dtype=None):
    _tensor_arg(input, "native_norm", "input")
    raise NotImplementedError("Could not run 'aten::native_norm' with arguments from the "
                              f"'{input.device.type.upper()}' backend: native_norm is only "
                              "defined for sparse tensors (use torch.linalg.vector_norm)")


# ---------------------------------------------------------------------------- recurrent cells
# One step of nn.RNNCell / LSTMCell / GRUCell over given weights (the modules' own step).

def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    _tensor_arg(input, "rnn_tanh_cell", "input")
    return _rnn._rnn_step(F.linear(input, w_ih, b_ih), hx, w_hh, b_hh, False)


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    _tensor_arg(input, "rnn_relu_cell", "input")
    return _rnn._rnn_step(F.linear(input, w_ih, b_ih), hx, w_hh, b_hh, True)


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """(h', c') of one LSTM step, gates i, f, g, o; hx is the pair (h, c)."""
    _tensor_arg(input, "lstm_cell", "input")
    h, c = hx
    return _rnn._lstm_step(F.linear(input, w_ih, b_ih), h, c, w_hh, b_hh, None)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' of one GRU step, gates r, z, n."""
    _tensor_arg(input, "gru_cell", "input")
    return _rnn._gru_step(F.linear(input, w_ih, b_ih), hx, w_hh, b_hh)


# ---------------------------------------------------------------------------- recurrent layers
class _FlatWeightsRNN(_rnn.RNNBase):
    """nn.RNN/LSTM/GRU's forward over given weight tensors (no parameters of its own)."""

    def __init__(self, mode, input_size, out_size, hidden_size, params, has_biases, num_layers,
                 dropout, train, bidirectional, batch_first):
        _Module.__init__(self)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, has_biases, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size = out_size if out_size != hidden_size else 0
        self.training = bool(train)
        per = 2 + (2 if has_biases else 0) + (1 if self.proj_size else 0)
        params = list(params)
        expected = per * num_layers * (2 if bidirectional else 1)
        if len(params) != expected:
            raise RuntimeError(f"{mode.lower()}: expected {expected} parameter tensors, got "
                               f"{len(params)}")
        self._given = [params[i:i + per] for i in range(0, len(params), per)]

    def _weights(self, layer, d):
        w = self._given[layer * (2 if self.bidirectional else 1) + d]
        b_ih, b_hh = (w[2], w[3]) if self.bias else (None, None)
        return w[0], w[1], b_ih, b_hh, (w[-1] if self.proj_size else None)


def _flat_rnn(mode, fname, args):
    """Run the recurrence of `mode` over the flat weight list ATen's rnn functions take.

    Two call forms, as PyTorch's: (input, hx, params, has_biases, num_layers, dropout, train,
    bidirectional, batch_first) on a padded input, and (data, batch_sizes, hx, params, ...,
    bidirectional) on a packed one. params hold, per layer and direction, w_ih, w_hh, then
    b_ih, b_hh when has_biases, then w_hr for an LSTM with projections (h smaller than c)."""
    if len(args) != 9:
        raise TypeError(f"{fname}() takes 9 positional arguments but {len(args)} were given")
    packed = isinstance(args[3], (list, tuple))   # packed: params come 4th, after batch_sizes
    if packed:
        data, batch_sizes, hx, params, has_biases, num_layers, dropout, train, bidir = args
        batch_first = False
    else:
        data, hx, params, has_biases, num_layers, dropout, train, bidir, batch_first = args
    _tensor_arg(data, fname, "input")
    if mode == "LSTM":
        hx = tuple(hx)
        out_size, hidden_size = hx[0].shape[-1], hx[1].shape[-1]
    else:
        out_size = hidden_size = hx.shape[-1]
    layer = _FlatWeightsRNN(mode, data.shape[-1], out_size, hidden_size, params, has_biases,
                            num_layers, dropout, train, bidir, batch_first)
    out, h = layer(_PackedSequence(data, batch_sizes) if packed else data, hx)
    if packed:
        out = out.data
    return (out,) + tuple(h) if mode == "LSTM" else (out, h)


def rnn_tanh(*args):
    """Multi-layer Elman RNN with tanh over flat weights: (output, h_n)."""
    return _flat_rnn("RNN_TANH", "rnn_tanh", args)


def rnn_relu(*args):
    """Multi-layer Elman RNN with relu over flat weights: (output, h_n)."""
    return _flat_rnn("RNN_RELU", "rnn_relu", args)


def lstm(*args):
    """Multi-layer LSTM over flat weights; hx = (h_0, c_0): (output, h_n, c_n)."""
    return _flat_rnn("LSTM", "lstm", args)


def gru(*args):
    """Multi-layer GRU over flat weights: (output, h_n)."""
    return _flat_rnn("GRU", "gru", args)


__all__ += ["binary_cross_entropy_with_logits", "cosine_embedding_loss", "kl_div",
            "hinge_embedding_loss", "margin_ranking_loss", "poisson_nll_loss",
            "triplet_margin_loss", "ctc_loss", "constant_pad_nd", "convolution", "conv_tbc",
            "grid_sampler", "grid_sampler_2d", "grid_sampler_3d", "affine_grid_generator",
            "max_pool1d_with_indices", "embedding_renorm_", "embedding_bag",
            "native_layer_norm", "native_batch_norm", "native_group_norm", "native_dropout",
            "native_norm", "rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell",
            "rnn_tanh", "rnn_relu", "lstm", "gru"]

# Tensor methods that are nn.functional ops (x.prelu(w), x.hardshrink(lambd))
Tensor.prelu = F.prelu
Tensor.hardshrink = F.hardshrink


# dropout and rrelu spellings that only torch.* has (ATen's: feature noise is one draw per
# (N, C) plane for any input of 2 or more dims)
__all__ += ["feature_alpha_dropout", "feature_alpha_dropout_", "alpha_dropout_",
            "feature_dropout_", "rrelu_"]


def _aten_feature_dropout(input, p, train, inplace):
    from ._ops.layers import feature_dropout as _feature
    return _feature(input, p, train, inplace)


def feature_dropout_(input, p, train):
    return _aten_feature_dropout(input, p, train, True)


def feature_alpha_dropout(input, p, train):
    return F.feature_alpha_dropout(input, p, train)


def feature_alpha_dropout_(input, p, train):
    return F.feature_alpha_dropout(input, p, train, inplace=True)


def alpha_dropout_(input, p, train):
    return F.alpha_dropout(input, p, train, inplace=True)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    return F._rrelu(input, lower, upper, training, True, generator)
