"""nn.Parameter and nn.Buffer, and their uninitialized (lazy) forms."""
import sys

from .._tensor import Tensor
from .._torch_function import _disabled_torch_function_impl
from ..autograd import grad_mode

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


class _ParameterMeta(type):
    def __instancecheck__(cls, obj):
        # a Tensor subclass made a parameter keeps its class, marked with _is_param
        # (PyTorch's rule); isinstance(obj, Parameter) is True for it
        if cls is Parameter and isinstance(obj, Tensor) and \
                obj.__dict__.get("_is_param", False):
            return True
        return super().__instancecheck__(obj)


class Parameter(Tensor, metaclass=_ParameterMeta):
    """A Tensor that a Module registers as a parameter when assigned as an attribute.

    ``Parameter(data, requires_grad=True)`` shares memory with `data`. Data of a Tensor
    subclass stays of its class (its own methods and ``__torch_function__``): the result is
    ``data.detach()`` marked as a parameter, for which ``isinstance(p, Parameter)`` holds,
    as in PyTorch.
    """
    # ops on parameters give plain tensors (PyTorch's Parameter opts out the same way)
    __torch_function__ = _disabled_torch_function_impl

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from .._ops.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not "
                            f"{type(data).__name__}")
        if requires_grad is not True and requires_grad is not False:
            # PyTorch's message names the internal call that checks it
            raise TypeError(f"_make_subclass(): argument 'require_grad' (position 3) must be "
                            f"bool, not {type(requires_grad).__name__}")
        if data.layout.name != "strided":   # (its _data is no array: ember/_sparse_tensor.py)
            raise NotImplementedError(f"ember has no Parameter of layout {data.layout}")
        if cls is Parameter and _is_user_subclass(data):
            return _subclass_parameter(data, requires_grad)
        p = cls._make(data._data)
        if data._vc is None:
            data._vc = [0]
        p._vc = data._vc
        if requires_grad:
            p._require_grad_at_creation()
        return p

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        """A new Parameter of a copy of the data, as PyTorch's: its gradient and any other
        attribute are not copied."""
        if id(self) in memo:
            return memo[id(self)]
        if isinstance(self, UninitializedParameter):
            return super().__deepcopy__(memo)
        result = type(self)(Tensor._make(self._data.copy()), self._requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, proto):
        if self.is_meta:   # no data: the plain meta tensor's own pickling rebuilds it
            return (Parameter, (Tensor._make(self._data), self._requires_grad))
        if self.device.type == "cpu":
            return (_rebuild_parameter, (self._cpu_array().copy(), self._requires_grad))
        # a device parameter comes back on its device, as PyTorch's pickles do
        return (_rebuild_parameter, (self._cpu_array().copy(), self._requires_grad,
                                     str(self.device)))


def _is_user_subclass(data):
    """Whether `data` is of a Tensor subclass other than ember's own tensor classes."""
    cls = type(data)
    return cls is not Tensor and not issubclass(cls, Parameter) and \
        not cls.__module__.startswith("ember.")


def _subclass_parameter(data, requires_grad):
    """Parameter(data) for a Tensor subclass: data detached, of its own class, marked."""
    t = data.detach()
    if type(t) is not type(data):
        raise RuntimeError(
            f"Creating a Parameter from an instance of type {type(data).__name__} requires "
            f"that detach() returns an instance of the same type, but return type "
            f"{type(t).__name__} was found instead. To use the type as a Parameter, please "
            f"correct the detach() semantics defined by its __torch_dispatch__() implementation.")
    if requires_grad:
        t._require_grad_at_creation()
    else:
        t.requires_grad_(False)
    t._is_param = True
    return t


def _rebuild_parameter(arr, requires_grad, device=None):
    from .._ops.creation import from_numpy
    data = from_numpy(arr)
    return Parameter(data if device is None else data.to(device), requires_grad)




class _BufferMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and getattr(obj, "_is_buffer", False)


class Buffer(metaclass=_BufferMeta):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            from .._ops.creation import empty
            data = empty(0)
        t = data.detach()
        t._is_buffer = True
        t._persistent = persistent
        return t


# ---------------------------------------------------------------- uninitialized tensors

_ARRAY = Tensor._data   # the slot that holds a tensor's array, read past the guard below


def _caller():
    """The name of the operation that read an uninitialized tensor: the innermost
    caller whose name is public (ops reach arrays through private helpers)."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_name
        if not name.startswith("_") or (name.startswith("__") and name.endswith("__")):
            return frame.f_code.co_qualname
        frame = frame.f_back
    return "an operation"


def _empty_array(device, dtype):
    from .._ops.creation import empty
    return empty(0, device=device, dtype=dtype)._data


class UninitializedTensorMixin:
    """A parameter or buffer whose shape is not known yet (lazy modules infer it from the
    first input).

    It holds an empty array only to remember its dtype and device. Reading its shape
    raises RuntimeError and any operation on it raises ValueError, as PyTorch's; only
    dtype and device moves (``to``, ``cpu``, ``cuda``, ``half`` ...), ``size()``,
    ``copy_`` and the dtype/device attributes work. ``materialize(shape)`` gives it an
    (uninitialised) array of that shape and turns it into ``cls_to_become``.
    """
    __torch_function__ = _disabled_torch_function_impl   # its own refusals (see above)
    __slots__ = ()
    cls_to_become = None

    # every ember op reads its inputs' arrays through `_data`: guarding it refuses them all
    @property
    def _data(self):
        raise ValueError(
            f"Attempted to use an uninitialized parameter in {_caller()}. This error happens when "
            f"you are using a `LazyModule` or explicitly manipulating "
            f"`torch.nn.parameter.{type(self).__name__}` objects. When using LazyModules Call "
            f"`forward` with a dummy batch to initialize the parameters before calling torch "
            f"functions")

    @_data.setter
    def _data(self, value):
        _ARRAY.__set__(self, value)

    def _plain(self):
        """A plain tensor over the (empty) array, for the operations allowed here."""
        return Tensor._make(_ARRAY.__get__(self), self._requires_grad)

    def materialize(self, shape, device=None, dtype=None):
        """Give this tensor an uninitialised array of `shape` (on its device, of its dtype
        unless `device`/`dtype` say otherwise) and turn it into ``cls_to_become``."""
        from .._ops.creation import empty
        plain = self._plain()
        array = empty(shape, device=device if device is not None else plain.device,
                      dtype=dtype if dtype is not None else plain.dtype)._data
        _ARRAY.__set__(self, array)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error "
            "usually happens in `load_state_dict` when trying to load an uninitialized "
            "parameter into an initialized one. Call `forward` to initialize the parameters "
            "before accessing their attributes.")

    def share_memory_(self):
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
            "initialize the parameters before calling `module.share_memory()`.")

    def __repr__(self):
        return f"<{type(self).__name__}>"

    def __reduce_ex__(self, proto):
        return (type(self), (self._requires_grad,))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        plain = self._plain()
        result = type(self)(self._requires_grad, plain.device, plain.dtype)
        memo[id(self)] = result
        return result

    # ---- what PyTorch allows on an uninitialized tensor: metadata, moves and casts
    dtype = property(lambda self: self._plain().dtype)
    device = property(lambda self: self._plain().device)
    is_cuda = property(lambda self: self._plain().is_cuda)
    is_cpu = property(lambda self: self._plain().is_cpu)
    ndim = property(lambda self: self._plain().ndim)
    itemsize = property(lambda self: self._plain().itemsize)

    @property
    def data(self):
        return Tensor._make(_ARRAY.__get__(self))

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        _ARRAY.__set__(self, value._data)

    def size(self, dim=None):
        return self._plain().size(dim)

    def is_floating_point(self):
        return self.dtype.is_floating_point

    def is_complex(self):
        return self.dtype.is_complex

    def get_device(self):
        return self._plain().get_device()

    def copy_(self, src, non_blocking=False):
        target = self._plain()
        target.copy_(src, non_blocking)
        _ARRAY.__set__(self, target._data)
        return self

    def _moved(self, method, *args, **kwargs):
        plain = self._plain()
        result = getattr(plain, method)(*args, **kwargs)
        return self if result is plain else self._wrap_result(result)

    def _wrap_result(self, result):
        return result

    def to(self, *args, **kwargs):
        return self._moved("to", *args, **kwargs)

    def cpu(self, *args, **kwargs):
        return self._moved("cpu", *args, **kwargs)

    def cuda(self, *args, **kwargs):
        return self._moved("cuda", *args, **kwargs)

    def half(self, *args, **kwargs):
        return self._moved("half", *args, **kwargs)

    def float(self, *args, **kwargs):
        return self._moved("float", *args, **kwargs)

    def double(self, *args, **kwargs):
        return self._moved("double", *args, **kwargs)

    def bfloat16(self, *args, **kwargs):
        return self._moved("bfloat16", *args, **kwargs)

    def char(self, *args, **kwargs):
        return self._moved("char", *args, **kwargs)

    def short(self, *args, **kwargs):
        return self._moved("short", *args, **kwargs)

    def int(self, *args, **kwargs):
        return self._moved("int", *args, **kwargs)

    def long(self, *args, **kwargs):
        return self._moved("long", *args, **kwargs)


def is_lazy(param):
    """Whether `param` is an UninitializedParameter or UninitializedBuffer."""
    return isinstance(param, UninitializedTensorMixin)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter whose shape is not known yet; becomes a Parameter on ``materialize``.

    ``device`` and ``dtype`` set the device and dtype it will be materialized with.
    Moves and casts return plain (empty) tensors, which ``Module._apply`` swaps in as the
    data, so the parameter stays uninitialized with the new dtype or device.
    """
    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        p = cls._make(_empty_array(device, dtype), False)
        p._vc = [0]
        p._requires_grad = bool(requires_grad)
        return p


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet; becomes a plain Tensor on ``materialize``.

    Moves and casts return new UninitializedBuffers (as PyTorch's), so a module's
    ``.to()``/``.double()`` keeps its buffers lazy.
    """
    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        b = cls._make(_empty_array(device, dtype), bool(requires_grad))
        b._is_buffer = True
        b._persistent = persistent
        return b

    def _wrap_result(self, result):
        return UninitializedBuffer(result._requires_grad, result.device, result.dtype)
