"""Stochastic depth (Huang et al. 2016, "Deep Networks with Stochastic Depth"):
torchvision.ops.stochastic_depth and StochasticDepth."""
from ... import empty, nn

__all__ = ["stochastic_depth", "StochasticDepth"]


def stochastic_depth(input, p, mode, training=True):
    """Drop a residual branch at random while training.

    ``out = input * noise / (1 - p)`` with ``noise ~ Bernoulli(1 - p)`` drawn once for the
    whole batch (``mode="batch"``) or once per sample, broadcast over the other dimensions
    (``mode="row"``: shape ``(N, 1, ..., 1)``). The division keeps the expectation equal to
    `input`. In eval mode, or with ``p == 0``, `input` is returned unchanged.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if mode not in ("batch", "row"):
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    survival_rate = 1.0 - p
    if mode == "row":
        size = [input.shape[0]] + [1] * (input.ndim - 1)
    else:
        size = [1] * input.ndim
    noise = empty(size, dtype=input.dtype, device=input.device).bernoulli_(survival_rate)
    if survival_rate > 0.0:
        # p == 1 leaves an all-zero mask: nothing to rescale
        noise.div_(survival_rate)
    return input * noise


class StochasticDepth(nn.Module):
    """The module form of :func:`stochastic_depth`; active only in training mode."""

    def __init__(self, p, mode):
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, input):
        return stochastic_depth(input, self.p, self.mode, self.training)

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p}, mode={self.mode})"
