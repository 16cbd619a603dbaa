"""Forward-mode automatic differentiation (``torch.autograd.forward_ad``).

    with forward_ad.dual_level():
        x = forward_ad.make_dual(primal, tangent)    # x = primal + tangent * eps
        y = f(x)
        value, jvp = forward_ad.unpack_dual(y)       # jvp = J_f(primal) @ tangent

A dual tensor carries a tangent (a Tensor of its shape) in its ``_fw_tangent`` slot.
Every op runs through the dispatcher (``ember._ops._base.apply``), which, while a dual
level is open and some operand carries a tangent, gives the outputs their tangents
J t (see ``_base._dual_apply`` for how, and what it costs): by default the derivative of
the op's backward; an op whose backward masks a 0/0 at a singular point (the norm of a zero
vector, the std of a constant, sgn at 0), where that derivative would leak a NaN, defines
its own rule, ``jvp``, beside its backward. Tangents follow:

- views: the tangent of a view is the same view of its source's tangent (``view_tangent``,
  called by ``shape.as_view``), so an in-place op on a view changes the base's tangent;
- in-place ops: ``self``'s tangent takes the result's values in place (``inplace_tangent``,
  called by ``conversion.commit_inplace``); an in-place op without tangent zeroes it;
- grad mode: forward AD ignores ``no_grad``, as PyTorch does; ``detach()`` drops the tangent.

Only one dual level may be open at a time (PyTorch supports no more than that either);
leaving it drops every tangent made inside it.
"""
import collections
import contextlib
import weakref

from . import grad_mode

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual",
           "unpack_dual", "dual_level"]

# ACTIVE[0]: a dual level is open. The dispatcher reads it on every op (one list index
# when False, as the autocast flag).
ACTIVE = grad_mode.DUAL_ACTIVE
_LEVEL = [-1]
# id(tensor) -> weak reference, for every tensor given a tangent inside the open level, so
# that leaving the level can take the tangents away again
_DUALS = {}


class UnpackedDualTensor(collections.namedtuple("UnpackedDualTensor", ["primal", "tangent"])):
    """What ``unpack_dual`` returns: the primal (a view of the dual tensor with no tangent)
    and the tangent (None for a tensor that has none)."""
    __slots__ = ()


def enter_dual_level():
    """Open a dual level and return its number (always 0: levels do not nest)."""
    if _LEVEL[0] >= 0:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _LEVEL[0] = 0
    ACTIVE[0] = True
    return 0


def exit_dual_level(*, level=None):
    """Close dual level `level` (the open one by default); every tangent is dropped."""
    if level is None:
        level = _LEVEL[0]
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    if level != _LEVEL[0]:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was "
                           "created. This is not supported.")
    ACTIVE[0] = False
    _LEVEL[0] = -1
    refs = list(_DUALS.values())
    _DUALS.clear()
    for ref in refs:
        t = ref()
        if t is not None:
            t.__dict__.pop("_fw_tangent", None)


class dual_level(contextlib.ContextDecorator):
    """Context manager (or decorator) that opens a dual level on entry and closes it on
    exit; ``as`` gives the level's number."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()
        return False


def _check_level(level):
    if level is None:
        level = _LEVEL[0]
    if level < 0:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, "
                           "make sure to enter_dual_level() first.")
    if level != _LEVEL[0]:
        raise RuntimeError(f"Dual level {level} is not open (the open level is {_LEVEL[0]})")


def make_dual(tensor, tangent, *, level=None):
    """A view of `tensor` whose tangent is `tangent` (kept as given, not copied).

    The result requires grad exactly when `tensor` does (its gradient flows back to
    `tensor`); the tangent must have tensor's shape, and both must be floating point or
    complex."""
    from .._tensor import Tensor
    _check_level(level)
    for name, t in (("primal", tensor), ("tangent", tangent)):
        if not isinstance(t, Tensor):   # (PyTorch's exception type)
            raise AttributeError(f"make_dual(): {name} must be a Tensor, got "
                                 f"{type(t).__name__}")
        if not (t.dtype.is_floating_point or t.dtype.is_complex):
            raise ValueError(f"Expected {name} to be floating point or complex, but got: "
                             f"{t.dtype}")
    if tangent.shape != tensor.shape:
        raise RuntimeError(f"Trying to set a forward gradient that has a different size than that "
                           f"of the original Tensor, this is not supported. Tensor is of size "
                           f"{list(tensor.shape)} while the given forward gradient is of size "
                           f"{list(tangent.shape)}.")
    if tangent.device != tensor.device:
        raise RuntimeError(f"Expected tangent to be on the same device as the primal, but got "
                           f"{tangent.device} and {tensor.device}")
    base = tensor._base if tensor._view_fn is not None else None
    if tensor._fw_tangent is not None or (base is not None and base._fw_tangent is not None):
        raise RuntimeError(f"Making a dual Tensor based on a Tensor that already has a forward "
                           f"gradient at the same level {_LEVEL[0]} is not supported.")
    dual = _alias(tensor)
    set_tangent(dual, tangent)
    return dual


def unpack_dual(tensor, *, level=None):
    """(primal, tangent) of `tensor`: the primal is a view of it without a tangent (it keeps
    the autograd history); the tangent is None for a tensor that has none."""
    from .._tensor import Tensor
    if not isinstance(tensor, Tensor):
        raise TypeError(f"unpack_dual(): argument 'dual' (position 1) must be Tensor, not "
                        f"{type(tensor).__name__}")
    if level is None:
        level = _LEVEL[0]
    tangent = tensor._fw_tangent if level >= 0 and level == _LEVEL[0] else None
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    return UnpackedDualTensor(_alias(tensor), tangent)


def _alias(tensor):
    """A view of `tensor` with all of it (autograd history and version counter shared),
    made with the dispatcher's forward-AD hook off so that it gets no tangent."""
    from .._ops.shape import view
    ACTIVE[0] = False
    try:
        return view(tensor, tensor.shape)
    finally:
        ACTIVE[0] = _LEVEL[0] >= 0


# --------------------------------------------------------------------------------------
# tangent bookkeeping, for the dispatcher and the view / in-place machinery


def set_tangent(t, tangent):
    """Give tensor `t` its tangent for the open level."""
    t._fw_tangent = tangent
    key = id(t)
    _DUALS[key] = weakref.ref(t, lambda ref, key=key: _forget(key, ref))


def restore_tangent(t, tangent):
    """Give a saved tensor rebuilt for backward the tangent it had when saved, while the
    level it belongs to is still open."""
    if ACTIVE[0]:
        set_tangent(t, tangent)


def _forget(key, ref):
    if _DUALS.get(key) is ref:
        del _DUALS[key]


def view_tangent(out, src, view_fn):
    """`out` = view_fn(src) is a view: its tangent is the same view of src's tangent, so that
    the two share memory as the primals do (an in-place op on one shows in the other)."""
    st = src._fw_tangent
    if st is None:
        return
    kind, src_kind = out._data.dtype.kind, src._data.dtype.kind
    if kind not in "fc" or (out._data.dtype != src._data.dtype and "c" not in (kind, src_kind)):
        # view(dtype) reinterprets the bits: no tangent (view_as_real / view_as_complex,
        # which change the dtype too, keep theirs)
        out.__dict__.pop("_fw_tangent", None)
        return
    ACTIVE[0] = False
    try:
        try:
            tangent = view_fn(st)
        except RuntimeError:
            # a reshape that is a view of the primal but can't be one of the tangent, whose
            # strides differ (the tangent of a transposed gradient): the view of a copy,
            # which shares no memory with src's tangent
            tangent = view_fn(st.contiguous())
        set_tangent(out, tangent)
    finally:
        ACTIVE[0] = True


def inplace_tangent(self, result):
    """An in-place op wrote `result` into `self`: self's tangent becomes result's, written
    into self's tangent's memory (views of self see it); no tangent on result writes zeros.
    A view with no tangent whose values receive one gives its base a zero tangent first,
    as PyTorch does."""
    rt = result._fw_tangent
    st = self._fw_tangent
    if rt is None and st is None:
        return
    ACTIVE[0] = False
    try:
        if st is None:
            base = self._base
            if base is None or self._view_fn is None:
                set_tangent(self, _fit_tangent(rt, self))
                return
            if base._fw_tangent is None:
                from .._ops.creation import zeros_like
                set_tangent(base, zeros_like(base))
            st = self._view_fn(base._fw_tangent)
            set_tangent(self, st)
        if rt is None:
            value = 0
        else:
            value = rt._data
            if value.dtype != st._data.dtype and value.dtype.kind == "c" \
                    and st._data.dtype.kind != "c":
                value = value.real
        data = st._data
        if getattr(data.flags, "writeable", True):   # (CuPy arrays have no such flag)
            data[...] = value
        else:   # a broadcast tangent (expand) has no memory of its own to write into
            set_tangent(self, _fit_tangent(rt, self) if rt is not None else _zeros(self))
    finally:
        ACTIVE[0] = True


def _fit_tangent(rt, self):
    if rt.shape != self.shape:
        rt = rt.expand(self.shape)
    if rt.dtype is not self.dtype:
        rt = rt.to(self.dtype)
    return rt


def _zeros(t):
    from .._ops.creation import zeros_like
    return zeros_like(t)
