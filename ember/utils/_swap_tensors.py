"""torch.utils.swap_tensors: two Tensor objects exchange everything but their identity."""
import copyreg
import weakref

__all__ = ["swap_tensors"]


def swap_tensors(t1, t2):
    """Swap the contents of Tensors `t1` and `t2`: their class, their attribute dicts and
    their slots (data, requires_grad, grad, grad_fn), so every reference to `t1` now sees
    what `t2` held and the other way round (an optimizer holding a Parameter sees the
    converted one).

    Refused, as in PyTorch: a tensor that weak references point to, and two classes with
    different slots. (PyTorch also refuses tensors referenced elsewhere in C++, which
    ember, all Python, has no count of.)"""
    if _user_weakrefs(t1):
        raise RuntimeError("Cannot swap t1 because it has weakref associated with it")
    if _user_weakrefs(t2):
        raise RuntimeError("Cannot swap t2 because it has weakref associated with it")
    t1_slots = set(copyreg._slotnames(t1.__class__))
    t2_slots = set(copyreg._slotnames(t2.__class__))
    if t1_slots != t2_slots:
        raise RuntimeError("Cannot swap t1 and t2 if they have different slots")

    def swap(name):
        first = object.__getattribute__(t1, name)
        object.__setattr__(t1, name, object.__getattribute__(t2, name))
        object.__setattr__(t2, name, first)

    swap("__class__")
    swap("__dict__")
    for slot in t1_slots:
        if slot in ("__dict__", "__weakref__"):
            continue
        has1, has2 = _has(t1, slot), _has(t2, slot)
        if has1 and has2:
            swap(slot)
        elif has1:
            object.__setattr__(t2, slot, object.__getattribute__(t1, slot))
            object.__delattr__(t1, slot)
        elif has2:
            object.__setattr__(t1, slot, object.__getattribute__(t2, slot))
            object.__delattr__(t2, slot)
    # a leaf's gradient accumulator went with its attributes: it now adds into the object
    # that holds it (PyTorch's follows the tensor data it belongs to in the same way)
    for t in (t1, t2):
        ref = t.__dict__.get("_acc_ref")
        acc = ref() if ref is not None else None
        if acc is not None:
            acc._variable = t


def _user_weakrefs(t):
    """The weak references to `t` (its own gradient accumulator holds it strongly, none)."""
    return weakref.getweakrefs(t)


def _has(t, slot):
    try:
        object.__getattribute__(t, slot)
    except AttributeError:
        return False
    return True
