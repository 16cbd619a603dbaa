"""The name a profiled op is listed under: PyTorch's ATen operator name where one follows
from the op, else ember's own.

Every ember op class carries the name of its PyTorch backward node (``MulBackward0``,
``AvgPool2DBackward0``, ``LinalgCholeskyExBackward0``). Dropping the ``Backward<n>``
suffix and writing the rest in snake case gives the ATen operator that PyTorch's profiler
lists for the forward call: ``aten::mul``, ``aten::avg_pool2d``,
``aten::linalg_cholesky_ex``. A few classes need a table entry (``ToCopy`` is
``aten::_to_copy``); ops whose node name leads to no ATen operator (ember's internal
helpers, ``NotImplemented`` nodes) are listed under their class name, e.g.
``ember::GatherFlat``. tests/test_profiler.py checks every op class against torch.ops.aten.
"""
import re

# backward-node names whose ATen forward is not the plain snake-case form
_ATEN_OVERRIDES = {
    "ToCopyBackward0": "_to_copy",
    "FakeQuantizePerTensorAffineCachemaskTensorQparamsBackward0":
        "_fake_quantize_per_tensor_affine_cachemask_tensor_qparams",
    "CopyBackwards": "copy_",
    "UnsafeViewBackward0": "_unsafe_view",
    "ReshapeAliasBackward0": "_reshape_alias",
    "PreluKernelBackward0": "_prelu_kernel",
    "PreluKernelBackwardBackward0": "_prelu_kernel_backward",
    "FftC2CBackward0": "_fft_c2c",
    "FftC2RBackward0": "_fft_c2r",
    "FftR2CBackward0": "_fft_r2c",
    "ScaledDotProductFlashAttentionForCpuBackward0": "_scaled_dot_product_flash_attention_for_cpu",
    "DiagonalBackward0_copy": "diagonal_backward",
    "EmbeddingDenseBackward0": "embedding_dense_backward",
    "ReflectionPadBackward0": "reflection_pad2d",
    "ReflectionPadBackwardBackward0": "reflection_pad2d_backward",
    "IndexBackwardBackward0": "index_put",
    "CtcLossBackwardBackward0": "_ctc_loss_backward",
    "CtcLossBackward0": "_ctc_loss",
    "UpsampleNearestExact1DBackward0": "_upsample_nearest_exact1d",
    "UpsampleNearestExact2DBackward0": "_upsample_nearest_exact2d",
    "UpsampleNearestExact3DBackward0": "_upsample_nearest_exact3d",
    "UpsampleBilinear2DAaBackward0": "_upsample_bilinear2d_aa",
    "UpsampleBicubic2DAaBackward0": "_upsample_bicubic2d_aa",
}

# node names that name no ATen operator: ember's internal helper ops and
# ops without a derivative
_NOT_ATEN = {"GatherFlatBackward0", "ScatterAddFlatBackward0", "NotImplemented",
             "torch::autograd::NotImplemented", "torch::autograd::CopySlices",
             "BackwardHookFunctionBackward",
             "CrossMapLRN2dBackward",   # (Python autograd.Functions in PyTorch)
             "LOBPCGAutogradFunctionBackward",
             # torchvision's operators (torchvision::roi_align ..., not ATen's)
             "RoIAlignBackward0", "RoIAlignBackwardBackward0", "RoIPoolBackward0",
             "PSRoIAlignBackward0", "PSRoIPoolBackward0", "TapSumBackward0",
             "TapSumBackwardBackward0"}

# op classes whose node name is not their forward's (ops without a derivative share one)
_CLASS_OVERRIDES = {"FloorDivide": "floor_divide", "RRemainder": "remainder",
                    "heaviside": "heaviside", "VarMean": "var_mean"}

_WORD_START = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SUFFIX = re.compile(r"Backward\d*$")

_CACHE = {}


def aten_name(node_name):
    """``aten::<op>`` for a backward-node name (``AvgPool2DBackward0`` ->
    ``aten::avg_pool2d``), or None when it names no ATen operator."""
    if not node_name or node_name in _NOT_ATEN or "::" in node_name:
        return None
    op = _ATEN_OVERRIDES.get(node_name)
    if op is None:
        op = _WORD_START.sub("_", _SUFFIX.sub("", node_name)).lower()
    return "aten::" + op


def op_name(cls):
    """The profiler's name for op class `cls` (cached: it is looked up on every op)."""
    name = _CACHE.get(cls)
    if name is None:
        op_cls = cls._op   # (a node class named for another overload: its op's name)
        op = _CLASS_OVERRIDES.get(op_cls.__qualname__)
        if op is not None:
            name = "aten::" + op
        else:
            name = aten_name(op_cls._name) or "ember::" + op_cls.__qualname__
        _CACHE[cls] = name
    return name
