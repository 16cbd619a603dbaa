"""Sparse tensors: a Tensor whose layout is not strided.

A sparse tensor is an instance of Tensor (``isinstance(s, ember.Tensor)`` holds, as in
PyTorch) that keeps its elements in dense component tensors instead of one array:

    COO (``ember.sparse_coo``):  indices (sparse_dim, nnz) int64, values (nnz, *dense_shape);
        element ``indices[:, k]`` holds ``values[k]``; repeated positions add up
        ("uncoalesced") until ``coalesce()`` sorts them and sums the repeats.
    compressed (CSR, CSC, BSR, BSC): see ember/sparse/_compressed.py.

Where a dense tensor holds its array (``_data``), a sparse one holds a _SparseArray: its
shape and dtype, and nothing to compute with. A dense op that is handed a sparse tensor
reads ``_data`` like any other and fails on its first attempt to compute with it
(NumPy's ufunc and array-function protocols, attribute reads, arithmetic), raising
NotImplementedError as PyTorch's dispatcher does ("Could not run 'aten::exp' with
arguments from the 'SparseCPU' backend"). So dense ops carry no check for sparse inputs
and pay nothing for their existence; and the Tensor methods a sparse tensor does not
support are replaced on the sparse classes by ones that raise the same error
(block_dense_methods, run once the op library has attached its methods).

The ops on sparse tensors live in ember/sparse/; this file holds what a sparse tensor
is: its components, metadata, conversions of its attributes, and its repr.
"""
import sys
import weakref

import numpy as np

from ._tensor import Tensor
from ._torch_function import _disabled_torch_function_impl


def _backend_name(layout_name, cuda):
    base = "SparseCsr" if layout_name != "sparse_coo" else "Sparse"
    return base + ("CUDA" if cuda else "CPU")


def _op_name(default):
    """The ember function the user called that reached a sparse tensor's _SparseArray:
    the outermost frame of the ember package that is a public function or Tensor method
    (``exp``, ``__add__`` -> ``add``), else `default` (the NumPy function or attribute
    that was reached)."""
    import ember
    frame = sys._getframe(2)
    found = None
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if (module == "ember" or module.startswith("ember.")) and module != __name__:
            name = _public_op_name(frame.f_code.co_name)
            raw = frame.f_code.co_name
            if (not raw.startswith("_") or raw.startswith("__")) and (
                    name in vars(ember) or name in vars(Tensor) or raw in vars(Tensor)):
                found = name
        frame = frame.f_back
    return found or default


def refuse(op, layout_name, cuda):
    """Raise PyTorch's error for an op without a kernel for this sparse layout."""
    raise NotImplementedError(
        f"Could not run 'aten::{op}' with arguments from the '{_backend_name(layout_name, cuda)}' "
        f"backend. ember has no kernel of '{op}' for tensors of layout ember.{layout_name}; "
        f"convert with .to_dense() first.")


# the NumPy functions a dense op may run on one sparse operand and a dense one, computing
# with the sparse one's dense form, where PyTorch's result is dense: matrix products
# (torch.mm(sparse, dense), as is its gradient) and dense plus or minus sparse (the sparse
# operand second: sparse + dense is refused, as PyTorch does)
_DENSIFIED_UFUNCS = frozenset(("matmul", "add", "subtract"))


class _SparseArray:
    """What a sparse tensor holds in place of a dense tensor's array: the shape and
    (NumPy) dtype that the autograd engine reads of every tensor, and nothing else.
    Anything that tries to compute with it raises NotImplementedError, except the matrix
    product and addition with a dense array (see _DENSIFIED_UFUNCS), which compute with
    the dense form of the tensor it belongs to (`_owner`, a weak reference)."""
    __slots__ = ("shape", "dtype", "ndim", "_layout", "_cuda", "_owner")
    base = None   # autograd's buffer-stealing check reads it (it owns no memory)

    def __init__(self, shape, dtype, layout_name, cuda, owner):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.ndim = len(self.shape)
        self._layout = layout_name
        self._cuda = cuda
        self._owner = weakref.ref(owner)

    @property
    def itemsize(self):
        return self.dtype.itemsize

    def _refuse(self, what):
        refuse(_op_name(what), self._layout, self._cuda)

    def _dense(self, what):
        owner = self._owner()
        if owner is None:
            self._refuse(what)
        from .autograd import grad_mode
        with grad_mode.no_grad():
            return owner.to_dense()._data.astype(self.dtype, copy=False)

    def astype(self, dtype, copy=True):
        """The same tensor read in another dtype: a dense op casts its operands to the
        result dtype first (gcn's torch.eye(V) + an int64 sparse adjacency matrix); the
        dense form is cast when a densifying ufunc reads it, anything else still refuses."""
        owner = self._owner()
        if owner is None:
            self._refuse("astype")
        return _SparseArray(self.shape, np.dtype(dtype), self._layout, self._cuda, owner)

    def __getattr__(self, name):
        if name.startswith("__"):   # protocol probes (copy, pickle ...) find nothing
            raise AttributeError(name)
        self._refuse(name)

    def dot(self, other):
        """The matrix product (ndarray.dot) of the dense form, for torch.mm(sparse, dense)."""
        if type(other) is _SparseArray:   # sparse @ sparse is sparse: ember.sparse.mm
            self._refuse("mm")
        return self._dense("mm").dot(other)

    def __array__(self, *args, **kwargs):
        self._refuse("to_dense")

    def __setitem__(self, key, value):
        """``a[...] = 0`` (how zero_grad(set_to_none=False) clears a gradient) empties the
        sparse tensor, as its zero_() does; any other write refuses."""
        owner = self._owner()
        if key is Ellipsis and type(value) in (int, float) and value == 0 and owner is not None:
            owner.zero_()
            return
        self._refuse("index_put_")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = ufunc.__name__
        sparse = [type(x) is _SparseArray for x in inputs]
        if name in ("add", "subtract") and sparse == [True, False]:   # PyTorch's words
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) "
                               "instead.")
        if (method != "__call__" or name not in _DENSIFIED_UFUNCS or kwargs.get("out")
                or len(inputs) != 2 or sum(sparse) != 1 or (name != "matmul" and sparse[0])):
            self._refuse(name)
        dense = [x._dense(name) if type(x) is _SparseArray else x for x in inputs]
        return ufunc(*dense, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        self._refuse(func.__name__)

    def __repr__(self):
        return f"<{self._layout} array of shape {self.shape}>"


def _refusing_dunder(name):
    def dunder(self, *args):
        self._refuse(name.strip("_"))
    dunder.__name__ = name
    return dunder


for _name in ("add", "radd", "sub", "rsub", "mul", "rmul", "truediv", "rtruediv", "floordiv",
              "rfloordiv", "mod", "rmod", "pow", "rpow", "matmul", "rmatmul", "and", "rand",
              "or", "ror", "xor", "rxor", "lshift", "rshift", "iadd", "isub", "imul",
              "itruediv", "lt", "le", "gt", "ge", "neg", "pos", "abs", "invert", "getitem",
              "len", "iter", "float", "int", "bool", "index", "complex"):
    setattr(_SparseArray, f"__{_name}__", _refusing_dunder(f"__{_name}__"))


def _scaled(self, other):
    """``alpha * b``, the one product a dense op forms of its sparse operand: dense
    ``add``/``sub`` with an ``alpha`` (Adagrad's sparse update, dense.add_(sparse, alpha=-lr)),
    as the dense form times the number; anything else refuses."""
    if type(other) in (int, float, bool):
        return self._dense("mul") * other
    self._refuse("mul")


_SparseArray.__mul__ = _SparseArray.__rmul__ = _scaled


class SparseTensor(Tensor):
    """The part every sparse layout shares: metadata read from the components, the
    attribute protocol, and the refusal of dense-only methods. Subclasses set
    ``_layout_name`` and hold their components in the instance dict."""
    _layout_name = None
    __torch_function__ = _disabled_torch_function_impl   # not a user subclass: no protocol

    def _init_sparse(self, size, values, requires_grad=False):
        # the slots every Tensor has; _data is the placeholder array (see _SparseArray)
        self._data = _SparseArray(size, values._data.dtype, self._layout_name,
                                  type(values._data) is not np.ndarray, self)
        self._requires_grad = requires_grad
        self._grad = None
        self.grad_fn = None

    # ------------------------------------------------------------------ metadata
    # (shape, size and dtype are Tensor's own: they read only _data's shape and dtype)
    @property
    def device(self):
        return self._component_values().device

    @property
    def is_cuda(self):
        return self._data._cuda

    @property
    def is_cpu(self):
        return not self._data._cuda

    def numel(self):
        n = 1
        for s in self._data.shape:
            n *= s
        return n

    nelement = numel

    def element_size(self):
        return self._component_values().element_size()

    @property
    def itemsize(self):
        return self._component_values().element_size()

    @property
    def layout(self):
        import ember
        return getattr(ember, self._layout_name)

    @property
    def is_sparse(self):
        return self._layout_name == "sparse_coo"

    @property
    def is_sparse_csr(self):
        return self._layout_name == "sparse_csr"

    def is_contiguous(self, memory_format=None):
        return False

    def stride(self, dim=None):
        # PyTorch reports zero strides for a sparse tensor (it has no strided storage)
        if dim is None:
            return (0,) * self._data.ndim
        self._wrap_dim(dim)
        return 0

    def storage_offset(self):
        raise RuntimeError(f"Cannot access storage of {type(self).__name__}")

    def data_ptr(self):
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")

    def _cpu_array(self):
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")

    def item(self):
        raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar"
                           if self.numel() != 1 else
                           "Cannot access data pointer of Tensor that doesn't have storage")

    def tolist(self):
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")

    def numpy(self, *, force=False):
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() "
                        "first.")

    def _type_name(self):
        legacy = self.dtype._legacy or self.dtype.name
        return ("torch.cuda.sparse." if self.is_cuda else "torch.sparse.") + legacy

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __bool__(self):
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous"
                           if self.numel() != 1 else
                           "Cannot access data pointer of Tensor that doesn't have storage")

    def __hash__(self):
        return id(self)

    def __format__(self, spec):
        return object.__format__(self, spec)

    @property
    def data(self):
        return self.detach()

    @data.setter
    def data(self, value):
        raise NotImplementedError("assigning .data of a sparse tensor is not supported by ember")

    def __repr__(self, *, tensor_contents=None):
        from ._printing import sparse_repr
        return sparse_repr(self, tensor_contents)

    def _refuse(self, op):
        refuse(op, self._layout_name, self._data._cuda)


# Tensor members a sparse tensor keeps as they are: graph state, hooks, the attribute
# protocol, and the ones the sparse classes define themselves.
_KEEP = frozenset((
    "__new__", "__init__", "__init_subclass__", "__class__", "__getattribute__",
    "__setattr__", "__delattr__", "__dir__", "__sizeof__", "__subclasshook__", "__reduce__",
    "__weakref__", "__dict__", "__slots__", "__module__", "__doc__", "__qualname__",
    "__getstate__", "__eq__", "__ne__", "__class_getitem__",
    "_make", "_wrap_dim", "_bump_version", "_pin_to_graph", "_output_nr", "_vc", "_base",
    "_view_fn", "_hooks", "_retains_grad", "_accumulator", "_fw_tangent", "_data",
    "_requires_grad", "_grad", "grad_fn", "requires_grad", "requires_grad_", "is_leaf", "grad",
    "retains_grad", "output_nr", "_version", "register_hook", "register_post_accumulate_grad_hook",
    "backward", "detach_", "is_floating_point", "is_complex", "is_quantized", "is_meta",
    "dim_order", "get_device", "is_shared", "is_inference", "names", "name",
    "__torch_function__", "type", "shape", "size", "dtype", "ndim", "dim", "ndimension",
    "is_nested", "is_mkldnn", "is_xla", "is_xpu", "is_mps", "is_mtia", "is_ipu", "is_maia",
    "is_vulkan", "is_distributed",
))


def block_dense_methods():
    """Give the sparse classes a refusing version of every Tensor method they do not
    define: ``s.exp()`` raises NotImplementedError naming exp and the layout. Run once,
    after the op modules have attached their methods to Tensor."""
    import inspect
    from .sparse import _compressed, _coo
    for cls in (_coo.SparseCooTensor, _compressed.SparseCompressedTensor):
        own = set()
        for klass in cls.__mro__:
            if klass is Tensor:
                break
            own.update(vars(klass))
        for name, member in list(vars(Tensor).items()):
            if name in own or name in _KEEP:
                continue
            if isinstance(member, property):
                setattr(cls, name, _refusing_property(name))
            elif callable(member) or inspect.ismethoddescriptor(member):
                setattr(cls, name, _refusing_method(name))


def _public_op_name(name):
    if name.startswith("__") and name.endswith("__"):
        name = name[2:-2]
        if name.startswith("r") and name[1:] in ("add", "sub", "mul", "truediv", "floordiv",
                                                 "mod", "pow", "matmul", "and", "or", "xor"):
            name = name[1:]
        elif name.startswith("i") and name[1:] in ("add", "sub", "mul", "truediv", "floordiv",
                                                   "mod", "pow", "matmul", "and", "or", "xor"):
            name = name[1:] + "_"
        return {"getitem": "index", "setitem": "index_put_", "truediv": "div",
                "invert": "bitwise_not", "iter": "unbind", "lt": "lt", "gt": "gt"}.get(name, name)
    return name


def _refusing_method(name):
    op = _public_op_name(name)

    def method(self, *args, **kwargs):
        self._refuse(op)
    method.__name__ = name
    method.__doc__ = "Not supported for sparse layouts: raises NotImplementedError."
    return method


def _refusing_property(name):
    def getter(self):
        self._refuse(name)
    return property(getter)
