"""torch._assert: an assert that symbolic tracing can record.

``_assert(cond, msg)`` raises AssertionError(msg) when `cond` is false. When `cond` is a
traced value (an ember.fx Proxy, or any type with ``__torch_function__``), the call is
handed to that type instead of being evaluated, so ``torch.fx`` records it as a node
rather than failing on ``bool(proxy)``, as torch's does.
"""
from ._tensor import Tensor
from ._torch_function import handle_torch_function, overloaded_args

__all__ = []


def _assert(condition, message):
    """Assert `condition` (message `message`); traced conditions are recorded."""
    if type(condition) is not Tensor and overloaded_args((condition,)):
        return handle_torch_function(_assert, (condition,), condition, message)
    assert condition, message
