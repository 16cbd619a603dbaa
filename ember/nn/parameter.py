"""nn.Parameter and nn.Buffer."""
from .._tensor import Tensor
from ..autograd import grad_mode

__all__ = ["Parameter", "Buffer", "UninitializedParameter"]


class Parameter(Tensor):
    """A Tensor that a Module registers as a parameter when assigned as an attribute.

    ``Parameter(data, requires_grad=True)`` shares memory with `data`.
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from .._ops.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not "
                            f"{type(data).__name__}")
        p = cls._make(data._data)
        if data._vc is None:
            data._vc = [0]
        p._vc = data._vc
        if requires_grad:
            p.requires_grad = True
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
        from .._ops.creation import _rebuild_tensor
        return (_rebuild_parameter, (self._cpu_array().copy(), self._requires_grad))


def _rebuild_parameter(arr, requires_grad):
    from .._ops.creation import from_numpy
    return Parameter(from_numpy(arr), requires_grad)


class UninitializedParameter(Parameter):
    def __new__(cls, requires_grad=True, device=None, dtype=None):
        return super().__new__(cls, None, requires_grad)


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
