"""How a call of an ember function on Proxies is recorded, so the node reads as torch.fx
records the same call.

torch's nn.functional functions written in Python hand ``__torch_function__`` their
tensor inputs positionally and every other parameter by keyword, defaults included:
``F.relu(x)`` is recorded as ``relu(x, inplace=False)``, ``F.max_pool2d(x, 2)`` as
``max_pool2d(x, 2, stride=None, padding=0, ...)``. The ones torch binds from C++ (listed
below) hand over the arguments as called, and ``F.sigmoid``/``F.tanh`` call the Tensor
method. ember's functions take the same parameters, so the recorded call is rebuilt from
ember's signature by the same rule: the parameters without a default positionally, the
others by keyword.
"""
import inspect

# nn.functional functions that torch binds from C++ (arguments recorded as called)
_BOUND_IN_CPP = frozenset((
    "adaptive_avg_pool1d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "bilinear", "celu_",
    "channel_shuffle", "conv1d", "conv2d", "conv3d", "conv_tbc", "conv_transpose1d",
    "conv_transpose2d", "conv_transpose3d", "cosine_similarity", "elu_", "gelu", "hardshrink",
    "hardtanh_", "leaky_relu_", "linear", "logsigmoid", "native_channel_shuffle", "one_hot",
    "pairwise_distance", "pdist", "pixel_shuffle", "pixel_unshuffle", "prelu", "relu_",
    "rrelu_", "scaled_dot_product_attention", "selu_", "softplus", "softshrink", "threshold_",
))

# nn.functional functions that torch writes as a call of the Tensor method
_AS_METHOD = frozenset(("sigmoid", "tanh"))


def _functional_name(func):
    """The name of `func` in ember.nn.functional when it is one of its own functions (not
    a torch-level function it re-exports), else None."""
    import ember
    from ember.nn import functional
    from .node import _callable_name, _same_function
    name = _callable_name(func)
    if not isinstance(name, str) or not _same_function(functional.__dict__.get(name), func):
        return None
    if _same_function(ember.__dict__.get(name), func):
        return None
    return name


def as_recorded(func, args, kwargs):
    """(op, target, args, kwargs) of the node recording ``func(*args, **kwargs)``."""
    name = _functional_name(func)
    if name is None or name in _BOUND_IN_CPP:
        return "call_function", func, args, kwargs
    if name in _AS_METHOD and not kwargs and len(args) == 1:
        return "call_method", name, args, kwargs
    try:
        sig = inspect.signature(func)
        bound = sig.bind(*args, **kwargs)
    except (TypeError, ValueError):
        return "call_function", func, args, kwargs
    bound.apply_defaults()
    pos, kw = [], {}
    for pname, param in sig.parameters.items():
        value = bound.arguments[pname]
        if param.kind is param.VAR_POSITIONAL:
            pos.extend(value)
        elif param.kind is param.VAR_KEYWORD:
            kw.update(value)
        elif param.default is param.empty and param.kind is not param.KEYWORD_ONLY and not kw:
            pos.append(value)
        else:
            kw[pname] = value
    return "call_function", func, tuple(pos), kw
