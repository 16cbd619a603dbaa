"""What a program gave an op's function, kept for a ``__torch_dispatch__`` handler.

A handler sees an op's arguments as PyTorch's dispatcher passes them
(utils/_dispatch_schema_args.py). Most follow from ember's parameters of the op; a few do
not, because ember's function resolved them before making the op: ``F.max_pool2d(x, 2)``
shows no stride (``aten.max_pool2d_with_indices.default(x, [2, 2])``) where
``F.max_pool2d(x, 2, 2)`` shows ``[2, 2]``, both of which are ember's ``(2, 2)``;
``x.view(2, -1)`` shows ``[2, -1]``. Such a function calls `note` with those arguments
while the protocol is live (`live()`), and the dispatch layer reads them for the next op of
that class on that operand (`take`); nothing is kept otherwise.
"""
from . import _base

_NOTE = [None]   # (op class, the operand's array, {name: value as given})


def live():
    """Whether a dispatch mode or wrapper subclass may see ops (one check of a global)."""
    return _base._DISPATCH[0] is not None


def note(cls, operand, **given):
    """Keep `given` for the next dispatch of op `cls` whose first operand is `operand`
    (the array the op's function passes, or its Tensor)."""
    _NOTE[0] = (cls, operand, given)


def take(cls, array, tensor=None):
    """The arguments noted for op `cls` on first operand `array` (of Tensor `tensor`), a
    dict, or None; the note is dropped."""
    held = _NOTE[0]
    if held is None:
        return None
    _NOTE[0] = None
    if held[0] is cls and (held[1] is array or (tensor is not None and held[1] is tensor)):
        return held[2]
    return None
