"""AdaptiveLogSoftmaxWithLoss: the adaptive softmax of Grave et al., "Efficient softmax
approximation for GPUs" (2016)."""
from collections import namedtuple

import numpy as np

from ..._backend import like
from ..._tensor import Tensor
from ..._ops.creation import zeros
from .. import functional as F
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    r"""Adaptive softmax over n_classes split by `cutoffs` into a shortlist
    [0, cutoffs[0]) and clusters [cutoffs[i], cutoffs[i+1]) (the last ending at n_classes).

    The head, Linear(in_features, shortlist + n_clusters, bias=head_bias), scores the
    shortlist classes and one entry per cluster; cluster i's tail is
    Linear(in_features, h_i, bias=False) then Linear(h_i, size_i, bias=False) with
    h_i = in_features // div_value^(i+1). The log-probability of a class c in cluster i is

        log p(c | x) = log_softmax(head(x))[shortlist + i] + log_softmax(tail_i(x))[c - cutoffs[i]]

    and of a shortlist class, log_softmax(head(x))[c].

    forward(input (N, in_features) or (in_features,), target (N,) or ()) returns
    _ASMoutput(output, loss): output the target's log-probability per sample, loss the
    mean of -output. log_prob(input) gives all (N, n_classes) log-probabilities and
    predict(input) their argmax.
    """

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False,
                 device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted "
                             "in an increasing order, where each value is between 1 and "
                             "n_classes-1")
        factory = {"device": device, "dtype": dtype}
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, **factory)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, **factory),
                                        Linear(hidden, size, bias=False, **factory)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_, target_):
        if target_.dim() == 1:
            if input_.shape[0] != target_.shape[0]:
                raise RuntimeError("Input and target should have the same size in the batch "
                                   "dimension.")
            if input_.dim() != 2:
                raise RuntimeError(f"1D target tensor expects 2D input tensors, but found "
                                   f"inputs with size {input_.size()}")
        elif target_.dim() == 0:
            if input_.dim() != 1:
                raise RuntimeError(f"0D target tensor expects 1D input tensors, but found "
                                   f"inputs with size {input_.size()}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = target_.dim() > 0
        input = input_ if batched else input_.unsqueeze(0)
        target = target_ if batched else target_.unsqueeze(0)
        tgt = target._cpu_array().astype(np.int64)   # which rows go to which cluster: host
        if tgt.size and (tgt.min() < 0 or tgt.max() >= self.n_classes):
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but "
                               f"values in range [{tgt.min()}, {tgt.max()}] were found. ")

        def on_device(host):
            return Tensor._make(like(np.ascontiguousarray(host, dtype=np.int64), input._data))

        # the head's column for each row: the class itself (shortlist) or its cluster's entry
        head_col = tgt.copy()
        output = zeros(len(tgt), dtype=input.dtype, device=input.device)
        for i in range(self.n_clusters):
            low, high = self.cutoffs[i], self.cutoffs[i + 1]
            rows = np.nonzero((tgt >= low) & (tgt < high))[0]
            if rows.size == 0:
                continue
            head_col[rows] = self.shortlist_size + i
            rows_t = on_device(rows)
            cluster = F.log_softmax(self.tail[i](input.index_select(0, rows_t)), dim=1)
            local = cluster.gather(1, on_device(tgt[rows] - low).unsqueeze(1)).squeeze(1)
            output = output.index_copy(0, rows_t, local)
        head_logprob = F.log_softmax(self.head(input), dim=1)
        output = output + head_logprob.gather(1, on_device(head_col).unsqueeze(1)).squeeze(1)
        loss = (-output).mean()
        if not batched:
            output = output.squeeze(0)
        return _ASMoutput(output, loss)

    def _full_log_prob(self, input, head_output):
        """(N, n_classes): the shortlist's head log-probabilities, then each cluster's
        log-probabilities plus its head entry."""
        from ..._ops.joining import cat
        head_logprob = F.log_softmax(head_output, dim=1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster = F.log_softmax(self.tail[i](input), dim=1)
            parts.append(cluster + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return cat(parts, 1)

    def log_prob(self, input):
        """Log-probabilities of every class, (N, n_classes)."""
        return self._full_log_prob(input, self.head(input))

    def predict(self, input):
        """The most probable class of each row, (N,): log_prob(input).argmax(1)."""
        return self.log_prob(input).argmax(dim=1)
