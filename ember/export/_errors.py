"""The errors export raises, named as PyTorch's.

PyTorch raises ``torch._dynamo.exc.UserError`` for a bad export call (a dynamic_shapes spec
that does not fit the inputs) and
``torch.fx.experimental.symbolic_shapes.GuardOnDataDependentSymNode`` (a RuntimeError)
when the program branches on a tensor's values (``if x.sum() > 0``). ember has neither
module, so the classes live here, with the same names and bases.
"""

__all__ = ["UserError", "GuardOnDataDependentSymNode", "ConstraintViolationError"]


class UserError(RuntimeError):
    """An export call that cannot be honoured as written (PyTorch's derives from
    RuntimeError through TorchDynamoException)."""


class ConstraintViolationError(RuntimeError):
    """An example input outside the range its Dim allows (``Dim("b", min=11)`` given a
    size 10)."""


class GuardOnDataDependentSymNode(RuntimeError):
    """The traced program reads a tensor's value into Python (``bool(t)``, ``t.item()``):
    export records operations, not values, so it cannot decide the branch."""
