"""torch.backends.opt_einsum: whether einsum may order its contractions with the opt_einsum
package. ``is_available()`` says whether that package imports; ``enabled`` and ``strategy``
('auto', 'greedy' or 'optimal') are recorded for the scripts that set them (ember's einsum
picks its own order; the values are the same either way, up to rounding)."""
import importlib.util

__all__ = ["is_available", "get_opt_einsum", "enabled", "strategy"]


def is_available():
    """Whether the opt_einsum package can be imported."""
    return importlib.util.find_spec("opt_einsum") is not None


def get_opt_einsum():
    """The opt_einsum package, or None when it is not installed."""
    if not is_available():
        return None
    import opt_einsum
    return opt_einsum


enabled = is_available()
strategy = "auto" if enabled else None
