"""ember.utils.hooks (``torch.utils.hooks``): the handle every ``register_*hook`` returns.

``RemovableHandle`` is the one class ember's tensors, autograd nodes, modules and
optimizers already use (defined in ember/autograd/graph.py), re-exported here so that
``isinstance(h, torch.utils.hooks.RemovableHandle)`` holds for their handles.
"""
import warnings

from ..autograd.graph import RemovableHandle

__all__ = ["RemovableHandle", "unserializable_hook", "warn_if_has_hooks"]


def unserializable_hook(f):
    """Mark ``f`` as a hook that is not expected to survive serialization (silences
    warn_if_has_hooks)."""
    f.__torch_unserializable__ = True
    return f


def warn_if_has_hooks(tensor):
    """Warn for each backward hook of ``tensor`` that will not be serialized with it."""
    hooks = getattr(tensor, "_hooks", None) or {}
    for hook in hooks.values():
        if not hasattr(hook, "__torch_unserializable__"):
            warnings.warn(f"backward hook {hook!r} on tensor will not be serialized.  If this "
                          "is expected, you can decorate the function with "
                          "@torch.utils.hooks.unserializable_hook to suppress this warning",
                          stacklevel=2)
