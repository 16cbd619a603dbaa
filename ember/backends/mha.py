"""torch.backends.mha: the switch for the inference fast path of nn.MultiheadAttention and
nn.TransformerEncoder (PyTorch's fused kernels; ember's modules follow that path's results,
e.g. NaN for a query whose every key is masked)."""

_is_fastpath_enabled = True


def get_fastpath_enabled():
    """Whether the fast path may run (it runs only when all its input conditions hold)."""
    return _is_fastpath_enabled


def set_fastpath_enabled(value):
    """Allow (True) or forbid (False) the fast path."""
    global _is_fastpath_enabled
    _is_fastpath_enabled = value
