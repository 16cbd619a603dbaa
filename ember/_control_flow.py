"""torch.cond and torch.while_loop, PyTorch's control-flow operators, run eagerly (as
they run outside torch.compile): cond calls one branch, while_loop loops in Python. The
argument checks are PyTorch's."""
from ._tensor import Tensor
from .utils._pytree import tree_leaves

__all__ = ["cond", "while_loop"]


def cond(pred, true_fn, false_fn, operands=()):
    """true_fn(*operands) if pred else false_fn(*operands). pred is a Python bool (or
    number), or a one-element tensor; operands, when pred is a tensor, a tuple or list
    (possibly nested) of tensors."""
    if isinstance(pred, (bool, int, float)):
        return true_fn(*operands) if pred else false_fn(*operands)
    if not isinstance(pred, Tensor):
        raise RuntimeError(f"Expected pred to be bool or tensor, but got {pred}.")
    if pred.numel() != 1:
        raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got {pred}.")
    if not callable(true_fn) or not callable(false_fn):
        raise RuntimeError("Expect both branches to be callable.")
    if not isinstance(operands, (tuple, list)) or not all(
            isinstance(t, Tensor) for t in tree_leaves(list(operands))):
        raise RuntimeError("Expect operands to be a tuple of possibly nested dict/list/tuple "
                           f"that only consists of tensor leaves, but got {operands}.")
    return true_fn(*operands) if bool(pred) else false_fn(*operands)


def _check_pred(pred):
    if isinstance(pred, bool):
        return pred
    from . import _dtype
    if isinstance(pred, Tensor) and pred.dim() == 0 and pred.dtype is _dtype.bool:
        return bool(pred)
    raise RuntimeError(f"cond_fn must return a boolean scalar tensor or a boolean but got {pred}")


def while_loop(cond_fn, body_fn, carried_inputs):
    """val = carried_inputs; while cond_fn(*val): val = body_fn(*val); return val.

    cond_fn returns a bool or a bool 0-dim tensor; body_fn returns as many values as it
    takes (tensors or ints). When the loop never runs, the tensors come back as copies."""
    if not callable(cond_fn) or not callable(body_fn):
        raise RuntimeError("Expect cond_fn and body_fn to be callable.")
    if not isinstance(carried_inputs, (tuple, list)):
        raise RuntimeError(f"carried_inputs must be a tuple or list but got "
                           f"{type(carried_inputs)}")
    for leaf in tree_leaves(list(carried_inputs)):
        if not isinstance(leaf, (Tensor, int)):
            raise AssertionError(f"{list(carried_inputs)} can only be of (Tensor, int) but got "
                                 f"{tuple(type(x) for x in carried_inputs)}")
    val = tuple(carried_inputs)
    if not _check_pred(cond_fn(*val)):
        return tuple(v.clone() if isinstance(v, Tensor) else v for v in val)
    while True:
        out = body_fn(*val)
        # one carried value may come back bare (PyTorch's compiled path accepts that too)
        bare = not isinstance(out, tuple) and len(val) == 1
        val = (out,) if bare else out
        if not isinstance(val, tuple):
            raise AssertionError(f"body_fn should return a tuple but got {type(out)}")
        if len(val) != len(carried_inputs):
            raise AssertionError(f"body_fn should return the same number of elements as "
                                 f"carried_inputs, got {len(val)} vs {len(carried_inputs)}")
        if not _check_pred(cond_fn(*val)):
            return out if bare else val
