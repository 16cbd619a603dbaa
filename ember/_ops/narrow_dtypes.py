"""PyTorch's kernel coverage of its narrow storage dtypes on the CPU: complex32
(ComplexHalf) and the float8 types.

PyTorch stores, copies, views, indexes and concatenates tensors of these dtypes like any
other, but computes with only a handful of kernels; every other op raises
``NotImplementedError: "<kernel>" not implemented for '<ScalarType>'``. NumPy, left alone,
would do otherwise: complex32 is a record of two float16 (NumPy has no such complex type),
on which arithmetic fails with NumPy's own TypeError, and ml_dtypes gives the float8 types
every ufunc. So once a tensor of such a dtype exists (``_dtype.note_narrow``), the
dispatcher hands each op whose operands hold one to `forward` below, which

* runs data-moving ops (views, copies, indexing, cat, where, fill) on the stored values;
* runs PyTorch's few computing kernels in complex64 / float32 and rounds the result back
  once (complex32: + - * neg abs sgn conj, index_add, nonzero, and the tests eq ne isnan
  isinf isfinite isclose; float8: tensor * tensor, abs, mm/linear, and eq ne isnan, with
  per-type differences);
* refuses the rest with PyTorch's exception.

Programs that never make such a tensor never reach this module.
"""
import numpy as np

from .. import _dtype

_C32 = _dtype.COMPLEX32_NP
_F8 = {d.np: d for d in _dtype.FLOAT8_DTYPES}

# Ops that only move stored values: they run on complex32 records and float8 bytes as on
# any dtype (unless refused below).
_MOVES = frozenset((
    "AsStrided", "Diagonal", "Expand", "GatherFlat", "Permute", "Squeeze", "SqueezeDim",
    "SqueezeDims", "Transpose", "TransposeT", "Unbind", "Unfold", "UnsafeView", "Unsqueeze",
    "View", "Index", "IndexCopy", "IndexPut", "IndexPutZeros", "IndexSelect", "MaskedScatter",
    "Cat", "Narrow", "Split", "SplitWithSizes", "Stack", "Clone", "Copy", "CopySlices",
    "ToCopy", "DiagEmbed", "DiagonalCopy", "Repeat", "Roll", "Rot90", "AsStridedScatter",
    "DetachCopy", "Fill", "ConstantPad", "Where", "WhereBackward0",
    "Real", "Imag", "ViewAsReal", "ViewAsComplex",
    # the value-moving ops PyTorch has for one family only (refused for the other below)
    "Tril", "Triu", "MaskedFill", "IndexFill",
))
# Moving ops PyTorch has no kernel for, per family (op class -> PyTorch's kernel name).
_REFUSED_MOVES = {
    "c32": {"Gather": "scatter_gather_tensor_cpu", "Scatter": "scatter_gather_tensor_cpu",
            "ScatterAdd": "scatter_gather_tensor_cpu", "ScatterReduce": "scatter_gather_tensor_cpu",
            "Put": "put_cpu", "Flip": "flip_cpu", "TakeAlong": "sort"},
    "f8": {"Gather": "gather_expanded_index", "Scatter": "scatter_gather_tensor_cpu",
           "ScatterAdd": "scatter_gather_tensor_cpu", "ScatterReduce": "scatter_gather_tensor_cpu",
           "Put": "put_cpu", "Flip": "flip_cpu", "TakeAlong": "sorting_kernel_method_name",
           "Tril": "tril", "Triu": "triu", "MaskedFill": "masked_fill",
           "IndexFill": "index_fill_cpu", "IndexAdd": "index_add_"},
}
# Computing ops PyTorch has a kernel for, per family (computed in a wider dtype).
_COMPUTES = {
    "c32": frozenset(("Add", "Sub", "Mul", "NegBackward0", "AbsBackward0", "SgnBackward0",
                      "IndexAdd", "Conj", "ConjPhysical")),
    "f8": frozenset(("Mul", "AbsBackward0", "Mm", "Addmm", "Linear", "LinearBias")),
}
# PyTorch's kernel names for the refusal message, where they are not `<op>_cpu`
_KERNELS = {"Add": "add_stub", "Sub": "add_stub", "Mul": "mul_cpu_reduced_float",
            "Div": "div_true_cpu", "Sum": "sum_cpu", "Mean": "sum_cpu", "Mm": "addmm_impl_cpu_",
            "Addmm": "addmm_impl_cpu_", "Linear": "addmm_impl_cpu_", "LinearBias": "addmm_impl_cpu_",
            "Bmm": "bmm", "Dot": "dot",
            "Prod": "prod_out_cpu", "Cumsum": "cumsum_out_cpu", "Pow": "pow"}
# the bool-valued tests that bypass the dispatcher, per family
_TESTS = {"c32": frozenset(("eq", "ne", "isnan", "isinf", "isfinite", "isclose", "nonzero")),
          "f8": frozenset(("eq", "ne", "isnan"))}
# float8 types whose kernels differ from the family's: e5m2 has infinities (so isinf and
# isfinite); e8m0fnu, unsigned powers of two, has only float8 * float8 and isfinite
_F8_E5M2 = _dtype.float8_e5m2.np
_F8_E8M0 = _dtype.float8_e8m0fnu.np
_TESTS_OF = {_F8_E5M2: _TESTS["f8"] | {"isinf", "isfinite"},
             _F8_E8M0: frozenset(("eq", "ne", "isnan", "isfinite"))}
_COMPUTES_OF = {_F8_E8M0: frozenset(("Mul",))}


def _family(arrays):
    """("c32" | "f8", the narrow NumPy dtype) of the first narrow operand, or None."""
    for a in arrays:
        dt = getattr(a, "dtype", None)
        if dt is None:
            if type(a) is list or type(a) is tuple:
                found = _family(a)
                if found:
                    return found
            continue
        if dt == _C32:
            return "c32", dt
        if dt in _F8:
            return "f8", dt
    return None


def _cname(np_dt):
    return "ComplexHalf" if np_dt == _C32 else _F8[np_dt].cname


def _refuse(kernel, np_dt):
    raise NotImplementedError(f"\"{kernel}\" not implemented for '{_cname(np_dt)}'")


def _widen(a, np_dt):
    """An operand in the dtype PyTorch computes the narrow one in."""
    if getattr(a, "dtype", None) == np_dt:
        return _dtype.cast_array(a, np.complex64 if np_dt == _C32 else np.float32)
    if type(a) is list or type(a) is tuple:
        return type(a)(_widen(b, np_dt) for b in a)
    return a


def _narrow(out, np_dt):
    """A result computed in the wide dtype, rounded back to the narrow one (complex
    results to complex32, a real result of complex32 input, |z|, to float16)."""
    if type(out) is tuple:
        return tuple(_narrow(o, np_dt) for o in out)
    kind = getattr(getattr(out, "dtype", None), "kind", None)
    if kind == "c":
        return _dtype.cast_array(out, _C32)
    if kind == "f":
        return out.astype(np.float16 if np_dt == _C32 else np_dt)
    return out


def forward(cls, ctx, arrays, params):
    """Run op `cls` by PyTorch's policy for narrow dtypes (see the module docstring)."""
    found = _family(arrays)
    if found is None:
        return cls.forward(ctx, *arrays, *params)
    family, np_dt = found
    name = cls.__qualname__   # (__name__ is PyTorch's node name)
    refused = _REFUSED_MOVES[family].get(name)
    if refused:
        _refuse(refused, np_dt)
    if name in _MOVES:
        return cls.forward(ctx, *arrays, *params)
    if name not in _COMPUTES_OF.get(np_dt, _COMPUTES[family]):
        _refuse(_KERNELS.get(name, _kernel_of(cls)), np_dt)
    if family == "f8" and name == "Mul" and not all(
            getattr(a, "dtype", None) == np_dt and a.ndim for a in arrays):
        # PyTorch multiplies two float8 tensors, never one by a scalar or a 0-dim tensor
        _refuse("mul_cpu_reduced_float", np_dt)
    return _narrow(cls.forward(ctx, *(_widen(a, np_dt) for a in arrays), *params), np_dt)


def _kernel_of(cls):
    name = getattr(cls, "_name", None) or cls.__qualname__
    if name.endswith("Backward0"):
        name = name[:-len("Backward0")]
    return name.lower() + "_cpu"


def operands(name, *arrays, kernel=None):
    """The operands of an op that does not go through the dispatcher (eq, lt, isnan,
    isclose, equal, nonzero, take ...): widened where PyTorch has the kernel, else
    PyTorch's refusal (naming `kernel`, default `<name>_cpu`)."""
    found = _family(arrays)
    if found is None:
        return arrays
    family, np_dt = found
    if name not in _TESTS_OF.get(np_dt, _TESTS[family]):
        _refuse(kernel or name + "_cpu", np_dt)
    return tuple(_widen(a, np_dt) for a in arrays)
