"""class NestedTensor: a batch of tensors that differ in the length of one dimension.

A nested tensor of B components holds them packed in one dense tensor, ``values``, along
their ragged dimension, with the component boundaries in ``offsets`` (int64, B + 1 entries):
component i is ``values.narrow(r - 1, offsets[i], lengths[i])``, where r is the ragged
dimension of the nested tensor (``_ragged_idx``; dimension 0 is the batch) and ``lengths``
is ``offsets.diff()`` unless the nested tensor has "holes" (``torch.nested.narrow``: then
``lengths`` is kept too and the values between components belong to no component).
So a nested tensor of shape (B, j, D) has values of shape (sum of lengths, D), and one of
shape (B, H, j, D) (after ``transpose(1, 2)``) has values of shape (H, sum of lengths, D).
This is PyTorch's jagged layout (``torch.jagged``); ember's ``torch.strided`` nested tensors
use the same representation and differ only where PyTorch's differ in what they print and
refuse (``size()``, ``values()``, the repr) -- except strided ones whose components differ in
several dims, which keep a list of components (``_comps``, see _components.py).

An op on a nested tensor is an op on its values (pointwise ops, linear, softmax and
layer_norm over the last dimension ...) or, where it mixes the components' rows (attention,
reductions over the ragged dimension), on the padded dense form, gathered back; see
ember/nested/_ops.py. Autograd therefore records the ops on ``values``: a nested tensor's
``requires_grad``, ``grad_fn`` and ``grad`` are those of its values, and its backward runs
the values' backward.

The ragged size prints as PyTorch's symbolic "nested int" ``j1``, ``j2`` ...: one per offsets
tensor, numbered in order of creation, shared by every nested tensor computed from the same
offsets (so ``a + b`` is defined exactly when a and b share their offsets, as in PyTorch).
"""
import itertools

import numpy as np

from .._tensor import Tensor, Size
from .._torch_function import _disabled_torch_function_impl

_COUNTER = itertools.count(1)


class NestedInt:
    """The size of a ragged dimension (PyTorch's nested int ``j1``): equal only to itself,
    prints as ``j<n>``; multiplying by an int gives ``<k>*j<n>`` as in PyTorch."""
    __slots__ = ("n", "coeff")

    def __init__(self, n, coeff=1):
        self.n = n
        self.coeff = coeff

    def __repr__(self):
        return f"j{self.n}" if self.coeff == 1 else f"{self.coeff}*j{self.n}"

    __str__ = __repr__

    def __eq__(self, other):
        return isinstance(other, NestedInt) and other.n == self.n and \
            other.coeff == self.coeff

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(("j", self.n, self.coeff))

    def __mul__(self, k):
        if isinstance(k, int) and not isinstance(k, bool):
            return NestedInt(self.n, self.coeff * k)
        return NotImplemented

    __rmul__ = __mul__

    def __int__(self):
        raise AttributeError("'NestedIntNode' object has no attribute 'int_'")

    __index__ = __int__


def nested_int(offsets):
    """The nested int of an offsets tensor (made on first use)."""
    j = offsets.__dict__.get("_nested_int")
    if j is None:
        j = offsets.__dict__["_nested_int"] = NestedInt(next(_COUNTER))
    return j


class _NoData:
    """A nested tensor's `_data`: dense code that reaches it (bypassing the dispatch to the
    nested ops) fails here instead of computing on the packed values as if they were dense."""
    __slots__ = ()

    def __getattr__(self, name):
        raise NotImplementedError(
            f"ember.nested: this operation reached the dense data of a nested tensor "
            f"('{name}'); it is not supported for nested tensors")


_NO_DATA = _NoData()


def _check_activated():
    """Turn the __torch_function__ protocol on (when ember.nested is imported, and again at
    each new nested tensor should something have turned it off since): programs that never
    use ember.nested pay nothing for the nested tensors' dispatch."""
    from .. import _torch_function as tf
    if NestedTensor.__torch_function__ is not _nested_dispatch:
        NestedTensor.__torch_function__ = _nested_dispatch
    if not tf.ACTIVE[0]:
        tf.activate()


def _dispatch(cls, func, types, args=(), kwargs=None):
    from ._ops import dispatch
    return dispatch(func, types, args, kwargs or {})


_nested_dispatch = classmethod(_dispatch)


def make_nested(values, offsets, lengths=None, ragged_idx=1, layout=None):
    """A nested tensor viewing `values` split by `offsets` (and `lengths`) along
    values' dimension ragged_idx - 1."""
    from .. import jagged
    _check_activated()
    t = object.__new__(NestedTensor)
    t._data = _NO_DATA
    t._requires_grad = False
    t._grad = None
    t._values = values
    t._offsets = offsets
    t._lengths = lengths
    t._ragged_idx = ragged_idx
    t._nested_layout = layout if layout is not None else jagged
    t._comps = None   # the components of a strided tensor ragged in several dims
    if offsets is not None:
        nested_int(offsets)
    return t


class NestedTensor(Tensor):
    """A nested tensor (``torch.nested``): see the module docstring."""
    # opts out until ember.nested is imported (see _check_activated)
    __torch_function__ = _disabled_torch_function_impl

    # ------------------------------------------------------------------ metadata
    def _lengths_array(self):
        """The components' lengths, as a NumPy int64 array (host)."""
        if self._lengths is not None:
            return np.asarray(self._lengths.detach().cpu().numpy(), dtype=np.int64)
        off = np.asarray(self._offsets.detach().cpu().numpy(), dtype=np.int64)
        return np.diff(off)

    def _offsets_array(self):
        return np.asarray(self._offsets.detach().cpu().numpy(), dtype=np.int64)

    def _is_strided(self):
        from .. import strided
        return self._nested_layout is strided

    def _sizes(self):
        if self._comps is not None:   # None where the components differ
            shapes = [c.shape for c in self._comps]
            return (len(shapes),) + tuple(
                shapes[0][d] if len({s[d] for s in shapes}) == 1 else None
                for d in range(len(shapes[0])))
        r = self._ragged_idx
        vs = tuple(self._values.shape)
        return (len(self._offsets) - 1,) + vs[:r - 1] + (nested_int(self._offsets),) + vs[r:]

    @property
    def shape(self):
        if self._is_strided():
            raise RuntimeError("Internal error: NestedTensorImpl doesn't support sizes. "
                               "Please file an issue.")
        return Size(self._sizes())

    def size(self, dim=None):
        if dim is None:
            return self.shape
        d = self._wrap(dim)
        if self._is_strided() and (d == self._ragged_idx or self._sizes()[d] is None):
            raise RuntimeError(f"Given dimension {dim} is irregular and does not have a size.")
        return self._sizes()[d]

    def _wrap(self, dim):
        n = self.dim()
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise TypeError(f"dim must be an int, got {type(dim).__name__}")
        if dim < -n or dim >= n:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-n}, {n - 1}], but got {dim})")
        return dim + n if dim < 0 else dim

    def dim(self):
        if self._comps is not None:
            return self._comps[0].dim() + 1
        return self._values.dim() + 1

    ndimension = dim

    @property
    def ndim(self):
        return self.dim()

    @property
    def dtype(self):
        return self._values.dtype

    @property
    def device(self):
        return self._values.device

    @property
    def is_cuda(self):
        return self._values.is_cuda

    @property
    def is_cpu(self):
        return self._values.is_cpu

    @property
    def layout(self):
        return self._nested_layout

    @property
    def is_nested(self):
        return True

    @property
    def is_sparse(self):
        return False

    @property
    def is_meta(self):
        return False

    @property
    def is_quantized(self):
        return False

    def numel(self):
        return self._values.numel()

    nelement = numel

    def element_size(self):
        return self._values.element_size()

    def is_contiguous(self, memory_format=None):
        return self._lengths is None and self._values.is_contiguous()

    def __len__(self):
        if self._comps is not None:
            return len(self._comps)
        return len(self._offsets) - 1

    def __iter__(self):
        return iter(self.unbind())

    def __hash__(self):
        return id(self)

    def __bool__(self):
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")

    # ------------------------------------------------------------------ components
    def values(self):
        """The packed values (for the strided layout: its flat buffer, as PyTorch's)."""
        if self._is_strided():
            return self._values.reshape(-1)
        return self._values

    def offsets(self):
        if self._is_strided():
            raise AttributeError("'Tensor' object has no attribute 'offsets'")
        return self._offsets

    def lengths(self):
        if self._is_strided():
            raise AttributeError("'Tensor' object has no attribute 'lengths'")
        return self._lengths

    def unbind(self, dim=0):
        if dim != 0:
            raise RuntimeError("unbind(): only supported for NestedTensor on dim=0")
        if self._comps is not None:
            return tuple(self._comps)
        rd = self._ragged_idx - 1
        starts = self._offsets_array()[:-1]
        return tuple(self._values.narrow(rd, int(s), int(n))
                     for s, n in zip(starts, self._lengths_array()))

    def to_padded_tensor(self, padding, output_size=None):
        from ._padded import to_padded_tensor
        return to_padded_tensor(self, padding, output_size)

    # ------------------------------------------------------------------ autograd
    @property
    def requires_grad(self):
        return self._values.requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self._values.requires_grad = value

    def requires_grad_(self, requires_grad=True):
        self._values.requires_grad_(requires_grad)
        return self

    @property
    def grad_fn(self):
        return self._values.grad_fn

    @property
    def is_leaf(self):
        return self._values.grad_fn is None

    @property
    def grad(self):
        g = self._values.grad
        return None if g is None else self._like(g)

    @grad.setter
    def grad(self, value):
        self._values.grad = None if value is None else value._values

    def retain_grad(self):
        self._values.retain_grad()

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        if isinstance(gradient, NestedTensor):
            gradient = gradient._values
        self._values.backward(gradient, retain_graph, create_graph, inputs)

    def __deepcopy__(self, memo):
        import copy
        if self._comps is not None:
            return self._like(copy.deepcopy(self._values, memo))
        values = copy.deepcopy(self._values, memo)
        offsets = copy.deepcopy(self._offsets, memo)
        offsets.__dict__["_nested_int"] = nested_int(self._offsets)
        lengths = None if self._lengths is None else copy.deepcopy(self._lengths, memo)
        return make_nested(values, offsets, lengths, self._ragged_idx, self._nested_layout)

    def _autograd_stand_in(self):
        """What autograd.grad / backward differentiate for this tensor: its values (the
        generic hook in ember/autograd/__init__.py)."""
        return self._values

    def _autograd_result(self, grad):
        return self._like(grad)

    def detach(self):
        return self._like(self._values.detach())

    def _like(self, values, ragged_idx=None):
        """A nested tensor with these values and this tensor's offsets and lengths."""
        if self._comps is not None:
            from ._components import like_flat
            return like_flat(self, values)
        return make_nested(values, self._offsets, self._lengths,
                           self._ragged_idx if ragged_idx is None else ragged_idx,
                           self._nested_layout)

    # ------------------------------------------------------------------ printing
    def __repr__(self, *, tensor_contents=None):
        if self._is_strided():
            parts = []
            for c in self.unbind():
                if self._values.requires_grad and c.grad_fn is not None:
                    c = c.detach().requires_grad_()   # the components print as leaves
                parts.append("  " + repr(c).replace("\n", "\n  "))
            tail = ""
            # a list of components prints the op that made them (not the flat buffer's cat)
            fn = self._values.grad_fn if self._comps is None else self._comps[0].grad_fn
            if self._values.grad_fn is not None:
                tail = f", grad_fn=<{type(fn).__name__}>"
            elif self._values.requires_grad:
                tail = ", requires_grad=True"
            return "nested_tensor([\n" + ",\n".join(parts) + "\n]" + tail + ")"
        size = "(" + ", ".join(str(s) for s in self._sizes()) + ")"
        grad = ""
        if self._values.grad_fn is not None:
            grad = f", grad_fn={self._values.grad_fn!r}"
        elif self._values.requires_grad:
            grad = ", requires_grad=True"
        return (f"NestedTensor(size={size}, offsets={self._offsets!r}{grad}, "
                f"contiguous={self.is_contiguous()})")

    __str__ = __repr__
