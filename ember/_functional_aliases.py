"""The torch.* spellings of nn.functional ops (``torch.softmax``, ``torch.conv2d``,
``torch.batch_norm`` ...). Most share nn.functional's signature; the few whose
torch-level argument order differs get a thin adapter here."""
from .nn import functional as F

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
    return F.dropout2d(input, p, train) if input.dim() == 4 else F.dropout1d(input, p, train)


def relu_(input):
    return input.relu_()


def selu_(input):
    return F.selu(input, inplace=True)


def celu_(input, alpha=1.0):
    return F.celu(input, alpha, inplace=True)


def threshold_(input, threshold, value):
    return F.threshold(input, threshold, value, inplace=True)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    return F.rrelu(input, lower, upper, training)


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
