"""sigmoid_focal_loss (Lin et al. 2017, RetinaNet)."""
from ... import sigmoid
from ...nn import functional as F
from ._utils import _reduce

__all__ = ["sigmoid_focal_loss"]


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2, reduction="none"):
    r"""Focal loss of logits ``inputs`` against binary ``targets`` (same shape):

    .. math::
        FL = \alpha_t (1 - p_t)^\gamma \, \mathrm{BCE}(x, y), \quad
        p_t = p y + (1 - p)(1 - y), \quad \alpha_t = \alpha y + (1 - \alpha)(1 - y)

    with p = sigmoid(x); ``alpha = -1`` drops the alpha_t factor. ``reduction`` is
    'none' | 'mean' | 'sum'.
    """
    if not (0 <= alpha <= 1) and alpha != -1:
        raise ValueError(f"Invalid alpha value: {alpha}. alpha must be in the range [0,1] or -1 "
                         f"for ignore.")
    p = sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return _reduce(loss, reduction, empty_mean_is_zero=False)
