"""The older sparse products (``torch.sspaddmm``, ``saddmm``, ``hsmm``, ``dsmm``,
``Tensor.smm``/``sspaddmm``) and the ``*_copy`` functions of the sparse components
(``torch.crow_indices_copy`` ...: the component, copied).

sspaddmm(input, mat1, mat2) = beta * input + alpha * (mat1 @ mat2) for sparse `input`
and `mat1`, dense `mat2`, as an uncoalesced COO tensor: input's entries followed by the
product's (every column of each row of mat1 that holds a value), as PyTorch leaves it.
"""
from .._sparse_tensor import SparseTensor
from .._tensor import Tensor
from ._coo import SparseCooTensor, construct
from ._math import smm, hspmm, mm

__all__ = ["sspaddmm", "saddmm", "hsmm", "dsmm", "indices_copy", "values_copy",
           "crow_indices_copy", "col_indices_copy", "ccol_indices_copy", "row_indices_copy"]


def _layout_name(t):
    return {"sparse_coo": "Sparse", "sparse_csr": "SparseCsr", "sparse_csc": "SparseCsc",
            "sparse_bsr": "SparseBsr", "sparse_bsc": "SparseBsc"}.get(
        str(t.layout).split(".")[-1], "Strided")


def sspaddmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2): sparse input and mat1, dense mat2; an
    uncoalesced COO result holding input's entries, then the product's."""
    if not isinstance(mat1, SparseCooTensor):
        raise RuntimeError(f"sspaddmm: expected 'mat1' to have sparse layout, got 'mat1' with "
                           f"layout {_layout_name(mat1)}")
    if not isinstance(input, SparseCooTensor):
        raise RuntimeError(f"sspaddmm: expected 'self' to have sparse layout, got 'self' with "
                           f"layout {_layout_name(input)}")
    if mat1.dim() != 2 or mat2.dim() != 2:
        raise RuntimeError(f"sspaddmm: Argument #2: Expected 2D matrices, got "
                           f"{mat1.dim()}D and {mat2.dim()}D")
    if mat2.shape[0] != mat1.shape[1]:
        raise RuntimeError(f"sspaddmm: Argument #3: Expected dim 0 size {mat1.shape[1]}, got "
                           f"{mat2.shape[0]}")
    if tuple(input.shape) != (mat1.shape[0], mat2.shape[1]):
        raise RuntimeError(f"sspaddmm: Argument #1: Expected dim 0 size {mat1.shape[0]}, got "
                           f"{input.shape[0]}" if input.shape[0] != mat1.shape[0] else
                           f"sspaddmm: Argument #1: Expected dim 1 size {mat2.shape[1]}, got "
                           f"{input.shape[1]}")
    from .._ops.joining import cat
    product = smm(mat1, mat2)
    indices = cat([input._indices(), product._indices()], dim=1)
    values = cat([input._values() * beta, product._values() * alpha])
    return construct(indices, values, input.shape, False)


def saddmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``torch.saddmm``: sspaddmm by its older name."""
    return sspaddmm(input, mat1, mat2, beta=beta, alpha=alpha)


def hsmm(mat1, mat2):
    """``torch.hsmm``: hspmm (sparse @ dense as a hybrid COO tensor)."""
    if not isinstance(mat1, SparseTensor):
        raise NotImplementedError("Could not run 'aten::hspmm' with arguments from the 'CPU' "
                                  "backend: hsmm needs a sparse COO mat1")
    return hspmm(mat1, mat2)


def dsmm(mat1, mat2):
    """``torch.dsmm``: sparse (or dense) @ dense as a dense tensor."""
    return mm(mat1, mat2)


def _component_copy(component, wanted, layouts):
    """The copy function of sparse component `component` (a method of the layouts named
    in `layouts`); COO tensors have none in PyTorch."""
    def copy(input):
        if isinstance(input, SparseCooTensor):
            raise NotImplementedError(f"Could not run 'aten::{component}_copy' with arguments "
                                      f"from the 'SparseCPU' backend.")
        name = _layout_name(input)
        if name not in layouts:
            raise RuntimeError(f"{component} expected {wanted} layout but got {name}")
        return getattr(input, component)().clone()
    copy.__name__ = copy.__qualname__ = f"{component}_copy"
    copy.__doc__ = f"``torch.{component}_copy``: a copy of ``input.{component}()``."
    return copy


indices_copy = _component_copy("indices", "sparse coordinate tensor", ())
values_copy = _component_copy("values", "sparse tensor",
                              ("SparseCsr", "SparseCsc", "SparseBsr", "SparseBsc"))
crow_indices_copy = _component_copy("crow_indices", "sparse row compressed tensor",
                                    ("SparseCsr", "SparseBsr"))
col_indices_copy = _component_copy("col_indices", "sparse row compressed tensor",
                                   ("SparseCsr", "SparseBsr"))
ccol_indices_copy = _component_copy("ccol_indices", "sparse column compressed tensor",
                                    ("SparseCsc", "SparseBsc"))
row_indices_copy = _component_copy("row_indices", "sparse column compressed tensor",
                                   ("SparseCsc", "SparseBsc"))


# the sparse components a dense tensor refuses: method -> the layout PyTorch expects
_COMPONENTS = {"crow_indices": "sparse row compressed tensor",
               "col_indices": "sparse row compressed tensor",
               "ccol_indices": "sparse column compressed tensor",
               "row_indices": "sparse column compressed tensor",
               "coalesce": "sparse coordinate tensor"}


def _dense_refusal(name, wanted):
    def refuse(self, *args, **kwargs):
        raise RuntimeError(f"{name} expected {wanted} layout but got {_layout_name(self)}")
    refuse.__name__ = name
    return refuse


def attach():
    """Tensor.smm and Tensor.sspaddmm (dense tensors refuse them, as PyTorch's), and the
    sparse component methods a tensor of another layout refuses with PyTorch's
    RuntimeError (crow_indices of a dense or COO tensor, coalesce of a CSR one ...)."""
    def sspaddmm_method(self, mat1, mat2, *, beta=1, alpha=1):
        return sspaddmm(self, mat1, mat2, beta=beta, alpha=alpha)
    sspaddmm_method.__name__ = "sspaddmm"
    for cls in (Tensor, SparseCooTensor):
        cls.smm = smm
        cls.sspaddmm = sspaddmm_method
    from ._compressed import SparseCompressedTensor
    for name, wanted in _COMPONENTS.items():
        refusal = _dense_refusal(name, wanted)
        for cls in (Tensor, SparseCooTensor, SparseCompressedTensor):
            if name not in cls.__dict__:   # (a layout's own component stays)
                setattr(cls, name, refusal)
