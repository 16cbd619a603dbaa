"""TVTensor: the base of torchvision's tensor subclasses that tell transforms what a tensor
holds (an image, a video, a mask, boxes, key points).

torchvision's rule for torch operations on a TVTensor: the result is a plain Tensor
(``img + 1``, ``img[0]``, ``torch.cat([img, img])``), except for ``clone``, ``to``,
``detach``, ``requires_grad_`` and ``pin_memory`` called as methods, which keep the
subclass and its metadata. In-place methods modify the TVTensor but return a plain Tensor
(``img.add_(1)``; ``img += 1`` rebinds ``img`` to a plain Tensor). Inside
``set_return_type("TVTensor")`` every operation on a TVTensor returns one (with the
metadata of its first argument of the class).

How ember gets that without a cost for every program: ember's ops build plain Tensors, so
by default TVTensor opts out of the ``__torch_function__`` protocol (as Parameter does) and
overrides the five methods above and the in-place ones. ``set_return_type("TVTensor")``
switches TVTensor's handler to one that wraps every result (which activates ember's
protocol dispatch for the rest of the process) and switches the handler back when left.
So importing tv_tensors does not slow down the ops of a program, as it would if every call
had to ask the subclass.
"""
from ..._ops.creation import as_tensor
from ..._tensor import Tensor
from ..._torch_function import (_disabled_torch_function_impl, DisableTorchFunctionSubclass,
                                activate)

__all__ = ["TVTensor", "set_return_type", "wrap"]


def _tree_leaves(obj):
    """The Tensors (and other leaves) in nested lists/tuples/dicts, in order."""
    if isinstance(obj, (list, tuple)):
        return [leaf for item in obj for leaf in _tree_leaves(item)]
    if isinstance(obj, dict):
        return [leaf for item in obj.values() for leaf in _tree_leaves(item)]
    return [obj]


def _wrapping_torch_function(cls, func, types, args=(), kwargs=None):
    """TVTensor.__torch_function__ while ``set_return_type("TVTensor")`` holds: run `func`
    as on plain Tensors, then make its Tensor results instances of `cls` (with the metadata
    of the first argument of that class)."""
    if not all(issubclass(cls, t) for t in types):
        return NotImplemented
    with DisableTorchFunctionSubclass():
        output = func(*args, **(kwargs or {}))
    return cls._wrap_output(output, args, kwargs)


# a plain function, as Parameter's: called through the class (or super()) it takes
# (func, types, args, kwargs), as torch's
_OPT_OUT = _disabled_torch_function_impl
_WRAPPING = classmethod(_wrapping_torch_function)


def _rebuild_tv_tensor(cls, plain, state):
    """Unpickling: the plain tensor made a `cls` again, with its metadata."""
    out = plain.as_subclass(cls)
    out.__dict__.update(state)
    return out


class TVTensor(Tensor):
    """Base class of the TVTensors (``torchvision.tv_tensors.TVTensor``); subclass it to
    define your own kind of tensor for the v2 transforms."""

    __torch_function__ = _OPT_OUT

    @staticmethod
    def _to_tensor(data, dtype=None, device=None, requires_grad=None):
        if requires_grad is None:
            requires_grad = data.requires_grad if isinstance(data, Tensor) else False
        return as_tensor(data, dtype=dtype, device=device).requires_grad_(requires_grad)

    @classmethod
    def _wrap_output(cls, output, args=(), kwargs=None):
        """`output` (a Tensor or a tuple/list of them) as instances of cls."""
        if isinstance(output, Tensor) and not isinstance(output, cls):
            output = output.as_subclass(cls)
        if isinstance(output, (tuple, list)):
            output = type(output)(cls._wrap_output(part, args, kwargs) for part in output)
        return output

    @classmethod
    def wrap(cls, tensor, like, **kwargs):
        """`tensor` as a `cls` with the metadata of `like` (kwargs override it)."""
        return tensor.as_subclass(cls)

    def _keep(self, output, args, kwargs):
        return type(self)._wrap_output(output, (self,) + tuple(args), kwargs)

    # the methods whose results keep the subclass (torchvision's
    # _FORCE_TORCHFUNCTION_SUBCLASS)
    def clone(self, *args, **kwargs):
        return self._keep(Tensor.clone(self, *args, **kwargs), args, kwargs)

    def to(self, *args, **kwargs):
        return self._keep(Tensor.to(self, *args, **kwargs), args, kwargs)

    def detach(self):
        return self._keep(Tensor.detach(self), (), None)

    def requires_grad_(self, requires_grad=True):
        return self._keep(Tensor.requires_grad_(self, requires_grad), (), None)

    def pin_memory(self, *args, **kwargs):
        return self._keep(Tensor.pin_memory(self, *args, **kwargs), args, kwargs)

    def _make_repr(self, **kwargs):
        extra = ", ".join(f"{key}={value}" for key, value in kwargs.items())
        return f"{Tensor.__repr__(self)[:-1]}, {extra})"

    def __deepcopy__(self, memo):
        out = self.detach().clone().requires_grad_(self.requires_grad)
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, proto):
        # the subclass and its metadata survive pickling (DataLoader workers send samples
        # through pickles), as torch's _rebuild_from_type_v2 makes them
        plain = self.as_subclass(Tensor)
        return (_rebuild_tv_tensor, (type(self), plain, dict(self.__dict__)))


def _unwrapping(name):
    """An in-place Tensor method for TVTensors: it modifies the TVTensor, but returns a
    plain Tensor view of it, as torchvision's handler unwraps every result that is not
    forced to keep the subclass (``img.add_(1)`` and ``img += 1`` give a Tensor)."""
    def inplace(self, *args, **kwargs):
        out = getattr(Tensor, name)(self, *args, **kwargs)
        if out is self and not _RETURN_SUBCLASS[0]:
            return out.as_subclass(Tensor)
        return out
    inplace.__name__ = inplace.__qualname__ = name
    inplace.__doc__ = getattr(Tensor, name).__doc__
    return inplace


_INPLACE_OPERATORS = ("__iadd__", "__isub__", "__imul__", "__itruediv__", "__idiv__",
                      "__ipow__", "__ifloordiv__", "__imod__", "__iand__", "__ior__", "__ixor__",
                      "__ilshift__", "__irshift__")
for _name in [n for n in vars(Tensor) if n.endswith("_") and not n.startswith("_")
              and n != "requires_grad_" and callable(vars(Tensor)[n])] + \
        [n for n in _INPLACE_OPERATORS if n in vars(Tensor)]:
    setattr(TVTensor, _name, _unwrapping(_name))


class _ReturnTypeContext:
    """What set_return_type returns: leaving it as a context manager restores the
    previous return type."""

    def __init__(self, to_restore):
        self.to_restore = to_restore

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(self.to_restore)
        return False


_RETURN_SUBCLASS = [False]


def _set(subclass):
    _RETURN_SUBCLASS[0] = subclass
    if subclass:
        activate()
        TVTensor.__torch_function__ = _WRAPPING
    else:
        TVTensor.__torch_function__ = _OPT_OUT


def set_return_type(return_type):
    """Whether torch operations on TVTensors return plain Tensors (``"Tensor"``, the
    default) or TVTensors (``"TVTensor"``); case-insensitive. Usable as a global switch or
    as a context manager (``with set_return_type("TVTensor"): ...``). It does not affect
    the v2 transforms, which always return the input's type."""
    to_restore = _RETURN_SUBCLASS[0]
    try:
        subclass = {"tensor": False, "tvtensor": True}[return_type.lower()]
    except KeyError:
        raise ValueError(f"return_type must be 'TVTensor' or 'Tensor', got {return_type}") \
            from None
    _set(subclass)
    return _ReturnTypeContext(to_restore)


def wrap(wrappee, *, like, **kwargs):
    """`wrappee` (a Tensor) as the same TVTensor class as `like`, with `like`'s metadata
    (``format``, ``canvas_size`` ...); kwargs override single metadata fields."""
    wrap_method = getattr(type(like), "wrap", None)
    if wrap_method is not None:
        return wrap_method(wrappee, like, **kwargs)
    return wrappee.as_subclass(type(like))
