"""CrossMapLRN2d: Lua Torch's cross-channel local response normalisation (legacy)."""
from ..._ops.cross_map_lrn import cross_map_lrn2d
from .module import Module

__all__ = ["CrossMapLRN2d"]


class CrossMapLRN2d(Module):
    """y_c = x_c (k + alpha / size * S_c)^(-beta), S_c the sum of x^2 over about `size`
    channels around c, on 4-D input (N, C, H, W); values and gradients are those of
    PyTorch's legacy implementation (see ember/_ops/cross_map_lrn.py for its quirks).
    LocalResponseNorm is the modern layer."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return cross_map_lrn2d(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
