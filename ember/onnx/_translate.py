"""How each op of an exported ember graph is written as ONNX operators.

`TRANSLATIONS` maps the op's ATen name (without namespace and overload; an in-place op
``relu_`` uses ``relu``'s entry) to a function called as the op was called in the
program, with graph values (`Value`) in place of tensors: ``linear(g, x, weight, bias)``.
The functions' parameters mirror PyTorch's signatures, so positional and keyword calls
both bind. ``g.out_dtype`` / ``g.out_shape`` hold the dtype and shape ember computed for
the op's result. Ops that ember records as the op class that ran (average pooling,
transposed convolution) are keyed by the class name.
"""
import math
import operator

import numpy as np

from ._graph import Value

__all__ = ["TRANSLATIONS", "Unsupported", "python_op"]

TRANSLATIONS = {}


def _op(*names):
    def register(fn):
        for name in names:
            TRANSLATIONS[name] = fn
        return fn
    return register


def _tuple(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _axis(d, rank):
    return d + rank if d < 0 else d


def _operand(g, v, dtype):
    """A Value of `dtype` from a Value or a Python number."""
    if isinstance(v, Value):
        return g.cast(v, dtype)
    return g.const(np.array(v, dtype=dtype))


class Unsupported(Exception):
    """An op's form that has no translation; the exporter raises UnsupportedOperatorError
    naming it with the opset asked for."""


def _unsupported(name):
    raise Unsupported(f"aten::{name}")


# ---- elementwise -------------------------------------------------------------------
def _binary(onnx_op):
    def translate(g, input, other, *, alpha=1, **_):
        dt = g.out_dtype
        a, b = _operand(g, input, dt), _operand(g, other, dt)
        if alpha != 1:
            b = g.op("Mul", b, g.const(np.array(alpha, dtype=dt)))
        return g.op(onnx_op, a, b)
    return translate


TRANSLATIONS["add"] = _binary("Add")
TRANSLATIONS["sub"] = _binary("Sub")
TRANSLATIONS["mul"] = _binary("Mul")


@_op("rsub")
def _rsub(g, input, other, alpha=1):
    return _binary("Sub")(g, other, input) if alpha == 1 else _unsupported("rsub")


@_op("div", "true_divide")
def _div(g, input, other, *, rounding_mode=None):
    dt = g.out_dtype
    out = g.op("Div", _operand(g, input, dt), _operand(g, other, dt))
    if rounding_mode is None:
        return out
    if rounding_mode == "floor" and dt.kind == "f":
        return g.op("Floor", out)
    if rounding_mode == "trunc" and dt.kind == "f":
        sign = g.op("Sign", out)
        return g.op("Mul", sign, g.op("Floor", g.op("Abs", out)))
    return _unsupported(f"div (rounding_mode={rounding_mode!r})")


@_op("pow")
def _pow(g, input, exponent):
    dt = g.out_dtype
    return g.op("Pow", _operand(g, input, dt), _operand(g, exponent, dt))


def _compare(onnx_op):
    def translate(g, input, other):
        dt = np.result_type(*(v.dtype if isinstance(v, Value) else np.min_scalar_type(v)
                              for v in (input, other)))
        if isinstance(input, Value) and not isinstance(other, Value):
            dt = input.dtype
        return g.op(onnx_op, _operand(g, input, dt), _operand(g, other, dt), dtype=np.bool_)
    return translate


for _name, _onnx in {"eq": "Equal", "gt": "Greater", "lt": "Less", "ge": "GreaterOrEqual",
                     "le": "LessOrEqual"}.items():
    TRANSLATIONS[_name] = _compare(_onnx)


def _unary(onnx_op, **attrs):
    def translate(g, input, *args, **kwargs):
        return g.op(onnx_op, input, **attrs)
    return translate


for _name, _onnx in {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "exp": "Exp",
                     "log": "Log", "sqrt": "Sqrt", "abs": "Abs", "neg": "Neg", "erf": "Erf",
                     "sin": "Sin", "cos": "Cos", "floor": "Floor", "ceil": "Ceil",
                     "reciprocal": "Reciprocal", "sign": "Sign", "softsign": "Softsign",
                     "logical_not": "Not"}.items():
    TRANSLATIONS[_name] = _unary(_onnx)


@_op("rsqrt")
def _rsqrt(g, input):
    return g.op("Reciprocal", g.op("Sqrt", input))


@_op("silu")
def _silu(g, input, inplace=False):
    return g.op("Mul", input, g.op("Sigmoid", input))


@_op("leaky_relu")
def _leaky_relu(g, input, negative_slope=0.01, inplace=False):
    return g.op("LeakyRelu", input, alpha=float(negative_slope))


@_op("elu")
def _elu(g, input, alpha=1.0, inplace=False):
    return g.op("Elu", input, alpha=float(alpha))


@_op("gelu", "Gelu")
def _gelu(g, input, approximate="none"):
    if g.opset >= 20:
        return g.op("Gelu", input, approximate=approximate)
    dt = input.dtype
    half, one = g.const(np.array(0.5, dt)), g.const(np.array(1.0, dt))
    if approximate == "tanh":   # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.op("Mul", g.op("Mul", input, input), input)
        inner = g.op("Add", input, g.op("Mul", cube, g.const(np.array(0.044715, dt))))
        t = g.op("Tanh", g.op("Mul", inner, g.const(np.array(math.sqrt(2 / math.pi), dt))))
    else:                       # 0.5 x (1 + erf(x / sqrt(2)))
        t = g.op("Erf", g.op("Div", input, g.const(np.array(math.sqrt(2.0), dt))))
    return g.op("Mul", g.op("Mul", input, half), g.op("Add", t, one))


@_op("clamp", "clip")
def _clamp(g, input, min=None, max=None):
    dt = input.dtype
    lo = None if min is None else _operand(g, min, dt)
    hi = None if max is None else _operand(g, max, dt)
    return g.op("Clip", input, lo, hi)


@_op("hardtanh")
def _hardtanh(g, input, min_val=-1.0, max_val=1.0, inplace=False):
    return _clamp(g, input, min_val, max_val)


@_op("relu6")
def _relu6(g, input, inplace=False):
    return _clamp(g, input, 0.0, 6.0)


@_op("hardsigmoid")
def _hardsigmoid(g, input, inplace=False):
    return g.op("HardSigmoid", input, alpha=1 / 6, beta=0.5)


@_op("hardswish")
def _hardswish(g, input, inplace=False):
    return g.op("HardSwish", input)


@_op("softplus")
def _softplus(g, input, beta=1.0, threshold=20.0):
    if beta != 1:
        return _unsupported("softplus (beta != 1)")
    return g.op("Softplus", input)


@_op("where")
def _where(g, condition, input=None, other=None):
    if input is None:
        return _unsupported("where (one argument)")
    dt = g.out_dtype
    return g.op("Where", g.cast(condition, np.bool_), _operand(g, input, dt),
                _operand(g, other, dt), dtype=dt)


@_op("masked_fill")
def _masked_fill(g, input, mask, value):
    return g.op("Where", g.cast(mask, np.bool_), _operand(g, value, input.dtype), input)


# ---- identities and casts ----------------------------------------------------------
@_op("clone", "contiguous", "detach", "alias", "lift_fresh_copy")
def _identity(g, input, *args, **kwargs):
    return input


@_op("dropout", "feature_dropout", "alpha_dropout")
def _dropout(g, input, p=0.5, training=True, inplace=False):
    if not training or p == 0:
        return input
    ratio = g.const(np.array(p, dtype=input.dtype))
    return g.op("Dropout", input, ratio, g.const(np.array(True)), outputs=2)[0]


@_op("to", "_to_copy", "type_as", "float", "double", "half", "long", "int", "bool",
     "type")
def _to(g, input, *args, **kwargs):
    return g.cast(input, g.out_dtype)


# ---- linear algebra ----------------------------------------------------------------
@_op("linear")
def _linear(g, input, weight, bias=None):
    if input.rank == 2 and weight.rank == 2:
        return g.op("Gemm", input, weight, bias, transB=1)
    out = g.op("MatMul", input, g.op("Transpose", weight, perm=[1, 0]))
    return out if bias is None else g.op("Add", out, bias)


@_op("matmul", "mm", "bmm")
def _matmul(g, input, other):
    return g.op("MatMul", input, other)


@_op("addmm")
def _addmm(g, input, mat1, mat2, *, beta=1, alpha=1):
    return g.op("Gemm", mat1, mat2, input, alpha=float(alpha), beta=float(beta))


# ---- convolution, normalization, pooling -------------------------------------------
def _conv_pads(padding, n, weight, dilation):
    if padding == "valid":
        return [0] * 2 * n
    if padding == "same":   # the extra row/column of an odd total goes at the end
        total = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
        return [t // 2 for t in total] + [t - t // 2 for t in total]
    p = list(_tuple(padding, n))
    return p + p


@_op("conv1d", "conv2d", "conv3d")
def _conv(g, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    n = weight.rank - 2
    dilation = _tuple(dilation, n)
    return g.op("Conv", input, weight, bias, strides=list(_tuple(stride, n)),
                pads=_conv_pads(padding, n, weight, dilation), dilations=list(dilation),
                group=int(groups), kernel_shape=list(weight.shape[2:]))


@_op("ConvInputGrad")
def _conv_transpose(g, input, weight, out_shape, stride, padding, dilation, groups, *_):
    """ember's transposed convolution (the input gradient of a convolution)."""
    n = weight.rank - 2
    k = weight.shape[2:]
    natural = [(input.shape[2 + i] - 1) * stride[i] - 2 * padding[i]
               + dilation[i] * (k[i] - 1) + 1 for i in range(n)]
    output_padding = [out_shape[2 + i] - natural[i] for i in range(n)]
    return g.op("ConvTranspose", input, weight, strides=list(stride),
                pads=list(padding) * 2, dilations=list(dilation), group=int(groups),
                kernel_shape=list(k), output_padding=output_padding)


@_op("batch_norm")
def _batch_norm(g, input, running_mean, running_var, weight=None, bias=None,
                training=False, momentum=0.1, eps=1e-5):
    if training or running_mean is None:
        from .errors import OnnxExporterError
        raise OnnxExporterError(
            "batch_norm in training mode (batch statistics) is not exported by ember: call "
            "model.eval() before torch.onnx.export")
    c = running_mean.shape[0]
    if weight is None:
        weight = g.const(np.ones(c, dtype=input.dtype))
    if bias is None:
        bias = g.const(np.zeros(c, dtype=input.dtype))
    return g.op("BatchNormalization", input, weight, bias, running_mean, running_var,
                epsilon=float(eps))


@_op("layer_norm")
def _layer_norm(g, input, normalized_shape, weight=None, bias=None, eps=1e-5):
    n = len(_tuple(normalized_shape, 1))
    shape = tuple(input.shape[-n:])
    if weight is None:
        weight = g.const(np.ones(shape, dtype=input.dtype))
    if g.opset >= 17:
        if bias is None:    # (onnxruntime 1.32 crashes on LayerNormalization without B)
            bias = g.const(np.zeros(shape, dtype=input.dtype))
        return g.op("LayerNormalization", input, weight, bias, axis=-n, epsilon=float(eps))
    axes = list(range(-n, 0))
    mean = _reduce(g, "ReduceMean", input, axes, True)
    centred = g.op("Sub", input, mean)
    var = _reduce(g, "ReduceMean", g.op("Mul", centred, centred), axes, True)
    std = g.op("Sqrt", g.op("Add", var, g.const(np.array(eps, dtype=input.dtype))))
    out = g.op("Mul", g.op("Div", centred, std), weight)
    return out if bias is None else g.op("Add", out, bias)


def _pool_pads(padding, n):
    p = list(_tuple(padding, n))
    return p + p


@_op("max_pool1d", "max_pool2d", "max_pool3d")
def _max_pool(g, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
              return_indices=False):
    if return_indices:
        return _unsupported("max_pool2d_with_indices")
    n = input.rank - 2
    k = _tuple(kernel_size, n)
    s = k if stride is None or stride == [] or stride == () else _tuple(stride, n)
    return g.op("MaxPool", input, kernel_shape=list(k), strides=list(s),
                pads=_pool_pads(padding, n), dilations=list(_tuple(dilation, n)),
                ceil_mode=int(bool(ceil_mode)))


@_op("AvgPool")
def _avg_pool(g, input, k, s, p, out, divisor):
    """ember's average pooling op class: kernel, stride, padding, output size and the
    divisor of every window (from count_include_pad, ceil_mode, divisor_override)."""
    n = len(k)
    floor_out = [(input.shape[2 + i] + 2 * p[i] - k[i]) // s[i] + 1 for i in range(n)]
    ceil_mode = int(list(out) != floor_out)
    div = np.asarray(g.initializers[divisor.name] if isinstance(divisor, Value) else divisor)
    full = int(np.prod(k))
    pads = list(p) * 2
    # PyTorch's divisor is the window's size when count_include_pad holds; otherwise the
    # count of real (unpadded) elements, as ONNX's count_include_pad=0
    include = int(bool(np.all(div == full)))
    if not include and not any(p) and not ceil_mode:
        return _unsupported("avg_pool2d (divisor_override)")
    return g.op("AveragePool", input, kernel_shape=list(k), strides=list(s), pads=pads,
                ceil_mode=ceil_mode, count_include_pad=include)


@_op("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d")
def _adaptive_avg_pool(g, input, output_size):
    n = input.rank - 2
    size = _tuple(output_size, n)
    if all(s == 1 for s in size):
        return g.op("GlobalAveragePool", input)
    spatial = input.shape[2:]
    if all(isinstance(d, int) and o is not None and d % o == 0 for d, o in zip(spatial, size)):
        k = [d // o for d, o in zip(spatial, size)]
        return g.op("AveragePool", input, kernel_shape=k, strides=k)
    return _unsupported("adaptive_avg_pool2d (output size not dividing the input)")


# ---- softmax and reductions --------------------------------------------------------
@_op("softmax", "_softmax")
def _softmax(g, input, dim=None, _stacklevel=3, dtype=None):
    x = input if dtype is None else g.cast(input, g.out_dtype)
    return g.op("Softmax", x, axis=int(dim))


@_op("log_softmax", "_log_softmax")
def _log_softmax(g, input, dim=None, _stacklevel=3, dtype=None):
    x = input if dtype is None else g.cast(input, g.out_dtype)
    return g.op("LogSoftmax", x, axis=int(dim))


def _reduce(g, onnx_op, x, axes, keepdims):
    axes = [int(a) for a in axes]
    # ReduceSum takes axes as an input from opset 13, the others from opset 18
    if onnx_op == "ReduceSum" or g.opset >= 18:
        return g.op(onnx_op, x, g.const(np.array(axes, np.int64)), keepdims=int(keepdims))
    return g.op(onnx_op, x, axes=axes, keepdims=int(keepdims))


def _reduction(onnx_op):
    def translate(g, input, dim=None, keepdim=False, *, dtype=None, out=None):
        x = g.cast(input, g.out_dtype)
        if dim is None or dim == () or dim == []:
            dim = list(range(input.rank))
        return _reduce(g, onnx_op, x, _tuple(dim, 1), keepdim)
    return translate


@_op("mean")
def _mean(g, input, dim=None, keepdim=False, *, dtype=None, out=None):
    spatial = set(range(2, input.rank))
    dims = None if dim is None else {_axis(d, input.rank) for d in _tuple(dim, 1)}
    if keepdim and dtype is None and input.rank >= 3 and dims == spatial:
        return g.op("GlobalAveragePool", input)     # adaptive_avg_pool2d(x, 1)
    return _reduction("ReduceMean")(g, input, dim, keepdim, dtype=dtype)

TRANSLATIONS["sum"] = _reduction("ReduceSum")
TRANSLATIONS["amax"] = _reduction("ReduceMax")
TRANSLATIONS["amin"] = _reduction("ReduceMin")


def _arg_reduce(onnx_op):
    def translate(g, input, dim=None, keepdim=False):
        if dim is None:
            input, dim = g.op("Reshape", input, g.const(np.array([-1], np.int64))), 0
        return g.op(onnx_op, input, axis=int(dim), keepdims=int(keepdim), dtype=np.int64)
    return translate


TRANSLATIONS["argmax"] = _arg_reduce("ArgMax")
TRANSLATIONS["argmin"] = _arg_reduce("ArgMin")


# ---- shapes ------------------------------------------------------------------------
def _sizes(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return list(args[0])
    return list(args)


@_op("view", "reshape", "_unsafe_view")
def _reshape(g, input, *shape, **kwargs):
    shape = _sizes(shape or (kwargs.get("shape") or kwargs.get("size"),))
    return g.op("Reshape", input, g.int_list(shape))


@_op("flatten")
def _flatten(g, input, start_dim=0, end_dim=-1):
    r = input.rank
    if r == 0:
        return g.op("Reshape", input, g.const(np.array([1], np.int64)))
    start, end = _axis(start_dim, r), _axis(end_dim, r)
    if start == 1 and end == r - 1:
        return g.op("Flatten", input, axis=1)
    sizes = [g.dim(input, i) for i in range(start)] + [-1] + \
        [g.dim(input, i) for i in range(end + 1, r)]
    return g.op("Reshape", input, g.int_list(sizes))


@_op("unflatten")
def _unflatten(g, input, dim, sizes):
    d = _axis(dim, input.rank)
    full = [g.dim(input, i) for i in range(d)] + list(sizes) + \
        [g.dim(input, i) for i in range(d + 1, input.rank)]
    return g.op("Reshape", input, g.int_list(full))


@_op("transpose", "swapaxes")
def _transpose(g, input, dim0, dim1):
    perm = list(range(input.rank))
    a, b = _axis(dim0, input.rank), _axis(dim1, input.rank)
    perm[a], perm[b] = perm[b], perm[a]
    return g.op("Transpose", input, perm=perm)


@_op("t")
def _t(g, input):
    return input if input.rank < 2 else g.op("Transpose", input, perm=[1, 0])


@_op("permute")
def _permute(g, input, *dims, **kwargs):
    dims = _sizes(dims or (kwargs["dims"],))
    return g.op("Transpose", input, perm=[_axis(d, input.rank) for d in dims])


@_op("unsqueeze")
def _unsqueeze(g, input, dim):
    return g.op("Unsqueeze", input, g.const(np.array([_axis(dim, input.rank + 1)], np.int64)))


@_op("squeeze")
def _squeeze(g, input, dim=None):
    if dim is None:
        axes = [i for i, d in enumerate(input.shape) if d == 1]
    else:
        axes = [_axis(d, input.rank) for d in _tuple(dim, 1)]
        axes = [a for a in axes if input.shape[a] == 1]
    if not axes:
        return input
    return g.op("Squeeze", input, g.const(np.array(axes, np.int64)))


@_op("expand")
def _expand(g, input, *sizes, **kwargs):
    sizes = _sizes(sizes or (kwargs["size"],))
    lead = len(sizes) - input.rank
    full = [g.dim(input, i - lead) if (not isinstance(s, Value) and s == -1) else s
            for i, s in enumerate(sizes)]
    return g.op("Expand", input, g.int_list(full))


@_op("cat", "concat", "concatenate")
def _cat(g, tensors, dim=0):
    tensors = [t for t in tensors if t.shape != (0,)]
    dt = g.out_dtype
    return g.op("Concat", *[g.cast(t, dt) for t in tensors], axis=_axis(dim, tensors[0].rank))


@_op("stack")
def _stack(g, tensors, dim=0):
    d = _axis(dim, tensors[0].rank + 1)
    axes = g.const(np.array([d], np.int64))
    return g.op("Concat", *[g.op("Unsqueeze", t, axes) for t in tensors], axis=d)


def _split_sizes(g, input, split, dim):
    d = _axis(dim, input.rank)
    size = input.shape[d]
    if isinstance(split, int):
        sizes = [split] * (size // split) + ([size % split] if size % split else [])
    else:
        sizes = list(split)
    return d, sizes


@_op("split", "split_with_sizes")
def _split(g, input, split_size_or_sections, dim=0):
    d, sizes = _split_sizes(g, input, split_size_or_sections, dim)
    if len(sizes) == 1:
        return [input]
    return g.op("Split", input, g.const(np.array(sizes, np.int64)), axis=d,
                outputs=len(sizes))


@_op("chunk")
def _chunk(g, input, chunks, dim=0):
    size = input.shape[_axis(dim, input.rank)]
    return _split(g, input, -(-size // chunks), dim)


@_op("unbind")
def _unbind(g, input, dim=0):
    d = _axis(dim, input.rank)
    parts = _split(g, input, 1, d)
    axes = g.const(np.array([d], np.int64))
    return [g.op("Squeeze", p, axes) for p in parts]


@_op("index")
def _index(g, input, key):
    """Basic indexing: ints, slices, None and Ellipsis."""
    key = list(key) if isinstance(key, tuple) else [key]
    tensors = [i for i, k in enumerate(key) if isinstance(k, (Value, list))]
    if tensors:
        return _gather_index(g, input, key, tensors)
    if Ellipsis in key:
        i = key.index(Ellipsis)
        real = sum(1 for k in key if k is not None and k is not Ellipsis)
        key[i:i + 1] = [slice(None)] * (input.rank - real)
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    dim = out_dim = 0
    for k in key:
        if k is None:
            unsqueeze.append(out_dim)
            out_dim += 1
            continue
        if isinstance(k, int):
            starts.append(k)
            ends.append(k + 1 if k != -1 else np.iinfo(np.int64).max)
            axes.append(dim)
            steps.append(1)
            squeeze.append(dim)
        elif isinstance(k, slice):
            if k != slice(None):
                step = 1 if k.step is None else k.step
                starts.append(0 if k.start is None else k.start)
                ends.append(np.iinfo(np.int64).max if k.stop is None else k.stop)
                axes.append(dim)
                steps.append(step)
            out_dim += 1
        else:
            return _unsupported(f"index (key {k!r})")
        dim += 1
    x = input
    if axes:
        c = lambda v: g.const(np.array(v, np.int64))   # noqa: E731
        x = g.op("Slice", x, c(starts), c(ends), c(axes), c(steps))
    if squeeze:
        x = g.op("Squeeze", x, g.const(np.array(squeeze, np.int64)))
    if unsqueeze:
        x = g.op("Unsqueeze", x, g.const(np.array(unsqueeze, np.int64)))
    return x


def _gather_index(g, input, key, tensors):
    """x[..., idx, ...] with one integer index tensor and full slices elsewhere: Gather."""
    i = tensors[0]
    rest = key[:i] + key[i + 1:]
    idx = key[i]
    if len(tensors) > 1 or any(k != slice(None) for k in rest if k is not Ellipsis) \
            or Ellipsis in key[i + 1:] or not isinstance(idx, Value) or idx.dtype == np.bool_:
        return _unsupported("index (advanced indexing beyond one integer index tensor)")
    axis = i if Ellipsis not in key[:i] else input.rank - (len(key) - i)
    return g.op("Gather", input, g.cast(idx, np.int64), axis=axis)


@_op("narrow")
def _narrow(g, input, dim, start, length):
    d = _axis(dim, input.rank)
    c = lambda v: g.const(np.array([v], np.int64))   # noqa: E731
    return g.op("Slice", input, c(start), c(start + length), c(d))


@_op("embedding")
def _embedding(g, input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
               scale_grad_by_freq=False, sparse=False):
    if max_norm is not None:
        return _unsupported("embedding (max_norm)")
    return g.op("Gather", weight, input, axis=0, dtype=weight.dtype)


@_op("pad")
def _pad(g, input, pad, mode="constant", value=None):
    n = len(pad) // 2
    begins = [0] * (input.rank - n) + [pad[2 * i] for i in reversed(range(n))]
    ends = [0] * (input.rank - n) + [pad[2 * i + 1] for i in reversed(range(n))]
    onnx_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
                 "circular": "wrap"}[mode]
    if onnx_mode == "wrap" and g.opset < 19:
        return _unsupported("pad (circular, before opset 19)")
    fill = g.const(np.array(0 if value is None else value, dtype=input.dtype))
    return g.op("Pad", input, g.const(np.array(begins + ends, np.int64)),
                fill if onnx_mode == "constant" else None, mode=onnx_mode)


@_op("scaled_dot_product_attention")
def _sdpa(g, query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
          enable_gqa=False):
    if is_causal or enable_gqa or dropout_p:
        return _unsupported("scaled_dot_product_attention (is_causal, enable_gqa or dropout_p)")
    dt = query.dtype
    d = query.shape[-1]
    scale = 1 / math.sqrt(d) if scale is None else scale
    perm = list(range(key.rank))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    scores = g.op("Mul", g.op("MatMul", query, g.op("Transpose", key, perm=perm)),
                  g.const(np.array(scale, dt)))
    if attn_mask is not None:
        if attn_mask.dtype == np.bool_:
            neg = g.const(np.array(-np.inf, dt))
            scores = g.op("Where", attn_mask, scores, neg)
        else:
            scores = g.op("Add", scores, attn_mask)
    return g.op("MatMul", g.op("Softmax", scores, axis=-1), value)


# ---- sizes and Python arithmetic of traced sizes -----------------------------------
@_op("sym_size")
def _sym_size(g, input, dim):
    return g.dim(input, dim)


@_op("getitem")
def _getitem(g, seq, i):
    if isinstance(seq, Value):
        return _index(g, seq, i)
    return seq[i]


_PY_OPS = {operator.add: "Add", operator.sub: "Sub", operator.mul: "Mul",
           operator.floordiv: "Div", operator.truediv: "Div"}


def python_op(g, fn, a, b):
    """``operator.mul(s0, 4)`` on traced sizes: int64 arithmetic in the graph."""
    if fn not in _PY_OPS:
        return _unsupported(f"operator.{fn.__name__} of sizes")
    return g.op(_PY_OPS[fn], _operand(g, a, np.int64), _operand(g, b, np.int64),
                dtype=np.int64, shape=())


@_op("PackedAttention")
def _packed_attention(g, x, heads, scale):
    """ember's self-attention of nn.MultiheadAttention's fast path: x (N, L, 3E) holds
    q | k | v; each split into `heads` heads, attended, and the heads merged (N, L, E)."""
    e = x.shape[-1] // 3
    d = e // heads
    parts = g.op("Split", x, g.const(np.array([e, e, e], np.int64)), axis=-1, outputs=3)
    split_heads = g.const(np.array([0, 0, heads, d], np.int64))   # 0: keep N and L
    q, k, v = (g.op("Transpose", g.op("Reshape", p, split_heads), perm=[0, 2, 1, 3])
               for p in parts)
    scores = g.op("Mul", g.op("MatMul", q, g.op("Transpose", k, perm=[0, 1, 3, 2])),
                  g.const(np.array(scale, x.dtype)))
    out = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
    merged = g.op("Transpose", out, perm=[0, 2, 1, 3])
    return g.op("Reshape", merged, g.const(np.array([0, 0, e], np.int64)))


# ---- op classes ember records for joins, and the recurrent layers -----------------
@_op("Cat")
def _cat_op(g, *args):
    *tensors, dim = args
    return _cat(g, tensors, dim)


@_op("Stack")
def _stack_op(g, *args):
    *tensors, dim = args
    return _stack(g, tensors, dim)


def _constant_of_shape(g, shape, fill):
    return g.op("ConstantOfShape", g.int_list(_sizes(shape)),
                value=np.array([fill], dtype=g.out_dtype), dtype=g.out_dtype)


@_op("zeros", "empty")
def _zeros(g, *size, **kwargs):
    return _constant_of_shape(g, size or (kwargs.get("size"),), 0)


@_op("ones")
def _ones(g, *size, **kwargs):
    return _constant_of_shape(g, size or (kwargs.get("size"),), 1)


@_op("full")
def _full(g, size, fill_value, **kwargs):
    return _constant_of_shape(g, (size,), fill_value)


@_op("new_zeros", "new_empty")
def _new_zeros(g, input, *size, **kwargs):
    return _constant_of_shape(g, size or (kwargs.get("size"),), 0)


@_op("new_ones")
def _new_ones(g, input, *size, **kwargs):
    return _constant_of_shape(g, size or (kwargs.get("size"),), 1)


@_op("new_full")
def _new_full(g, input, size, fill_value, **kwargs):
    return _constant_of_shape(g, (size,), fill_value)


def _like(fill):
    def translate(g, input, *args, **kwargs):
        value = fill if fill is not None else (args[0] if args else kwargs["fill_value"])
        return g.op("ConstantOfShape", g.shape_of(input),
                    value=np.array([value], dtype=g.out_dtype), dtype=g.out_dtype)
    return translate


TRANSLATIONS["zeros_like"] = TRANSLATIONS["empty_like"] = _like(0)
TRANSLATIONS["ones_like"] = _like(1)
TRANSLATIONS["full_like"] = _like(None)


def _gate_rows(g, w, order):
    """w with its gate blocks (rows) reordered from PyTorch's order to ONNX's, and a
    leading num_directions axis of 1."""
    parts = g.op("Split", w, g.const(np.array([w.shape[0] // len(order)] * len(order),
                                              np.int64)), axis=0, outputs=len(order))
    joined = g.op("Concat", *[parts[i] for i in order], axis=0) if len(order) > 1 else parts
    return g.op("Unsqueeze", joined, g.const(np.array([0], np.int64)))


def _recurrent(g, onnx_op, order, x, states, w_ih, w_hh, b_ih, b_hh, batch_sizes, reverse,
               **attrs):
    if batch_sizes is not None:
        return _unsupported(f"{onnx_op.lower()} of a PackedSequence")
    hidden = w_hh.shape[1]
    gates = len(order) * hidden
    zeros = g.const(np.zeros(gates, dtype=x.dtype))
    bias = g.op("Concat", b_ih if b_ih is not None else zeros,
                b_hh if b_hh is not None else zeros, axis=0)
    bias = _gate_rows_pair(g, bias, order, gates)
    axis0 = g.const(np.array([0], np.int64))
    inits = [g.op("Unsqueeze", s, axis0) for s in states]
    outs = g.op(onnx_op, x, _gate_rows(g, w_ih, order), _gate_rows(g, w_hh, order), bias, None,
                *inits, outputs=1 + len(states), hidden_size=hidden,
                direction="reverse" if reverse else "forward", **attrs)
    y = g.op("Squeeze", outs[0], g.const(np.array([1], np.int64)))
    return [y] + [g.op("Squeeze", s, axis0) for s in outs[1:]]


def _gate_rows_pair(g, bias, order, gates):
    """The concatenated [b_ih, b_hh] with each half's gates reordered; shape (1, 2*gates)."""
    halves = g.op("Split", bias, g.const(np.array([gates, gates], np.int64)), axis=0,
                  outputs=2, shape=(gates,))
    return g.op("Concat", *[_gate_rows(g, h, order) for h in halves], axis=1)


@_op("LSTMLayer")
def _lstm_layer(g, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, reverse):
    if w_hr is not None:
        return _unsupported("lstm (proj_size)")
    # PyTorch's gates i, f, g, o; ONNX's i, o, f, c
    return _recurrent(g, "LSTM", [0, 3, 1, 2], x, [h0, c0], w_ih, w_hh, b_ih, b_hh,
                      batch_sizes, reverse)


@_op("GRULayer")
def _gru_layer(g, x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, reverse):
    # PyTorch's gates r, z, n; ONNX's z, r, h; PyTorch applies r after the hidden
    # state's linear map (ONNX's linear_before_reset=1)
    return _recurrent(g, "GRU", [1, 0, 2], x, [h0], w_ih, w_hh, b_ih, b_hh, batch_sizes,
                      reverse, linear_before_reset=1)


@_op("RNNLayer")
def _rnn_layer(g, x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, reverse, relu=False):
    return _recurrent(g, "RNN", [0], x, [h0], w_ih, w_hh, b_ih, b_hh, batch_sizes, reverse,
                      activations=["Relu" if relu else "Tanh"])


@_op("multi_head_attention_forward")
def _mha(g, query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
         bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
         training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
         use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
         v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
         is_causal=False):
    """nn.MultiheadAttention's general path on (L, N, E) inputs: projections, heads
    (N*H, L, d), masked softmax(q k^T / sqrt(d)) v, heads merged, output projection."""
    if query.rank != 3 or bias_k is not None or add_zero_attn or static_k is not None \
            or (training and dropout_p):
        return _unsupported("multi_head_attention_forward (unbatched input, bias_k/bias_v, "
                            "add_zero_attn, static_k/v or dropout in training)")
    if is_causal and attn_mask is None:
        return _unsupported("multi_head_attention_forward (is_causal without attn_mask)")
    e, h = int(embed_dim_to_check), int(num_heads)
    d = e // h
    dt = query.dtype
    if use_separate_proj_weight:
        weights = (q_proj_weight, k_proj_weight, v_proj_weight)
    else:
        weights = g.op("Split", in_proj_weight, g.const(np.array([e, e, e], np.int64)),
                       axis=0, outputs=3)
    biases = (None,) * 3 if in_proj_bias is None else g.op(
        "Split", in_proj_bias, g.const(np.array([e, e, e], np.int64)), axis=0, outputs=3)
    heads = []
    for x, w, b in zip((query, key, value), weights, biases):
        p = g.op("MatMul", x, g.op("Transpose", w, perm=[1, 0]))
        p = p if b is None else g.op("Add", p, b)
        p = g.op("Reshape", p, g.const(np.array([0, -1, d], np.int64)))    # (L, N*H, d)
        heads.append(g.op("Transpose", p, perm=[1, 0, 2]))                 # (N*H, L, d)
    q, k, v = heads
    scores = g.op("Mul", g.op("MatMul", q, g.op("Transpose", k, perm=[0, 2, 1])),
                  g.const(np.array(1 / math.sqrt(d), dt)))                 # (N*H, L, S)
    neg = g.const(np.array(-np.inf, dt))
    if attn_mask is not None:
        scores = g.op("Where", attn_mask, neg, scores) if attn_mask.dtype == np.bool_ \
            else g.op("Add", scores, g.cast(attn_mask, dt))
    n, length, src = g.dim(query, 1), g.dim(query, 0), g.dim(key, 0)
    scores = g.op("Reshape", scores, g.int_list([n, h, length, src]))     # (N, H, L, S)
    if key_padding_mask is not None:
        kpm = g.op("Unsqueeze", key_padding_mask, g.const(np.array([1, 2], np.int64)))
        scores = g.op("Where", kpm, neg, scores) if key_padding_mask.dtype == np.bool_ \
            else g.op("Add", scores, g.cast(kpm, dt))
    attn = g.op("Softmax", scores, axis=-1)
    flat = g.op("Reshape", attn, g.int_list([-1, length, src]))           # (N*H, L, S)
    out = g.op("Transpose", g.op("MatMul", flat, v), perm=[1, 0, 2])     # (L, N*H, d)
    out = g.op("Reshape", out, g.const(np.array([0, -1, e], np.int64)))   # (L, N, E)
    out = g.op("MatMul", out, g.op("Transpose", out_proj_weight, perm=[1, 0]))
    if out_proj_bias is not None:
        out = g.op("Add", out, out_proj_bias)
    if not need_weights:
        return [out, None]
    if average_attn_weights:
        attn = _reduce(g, "ReduceMean", attn, [1], False)
    return [out, attn]


@_op("roll")
def _roll(g, input, shifts, dims=None):
    if dims is None:
        flat = g.op("Reshape", input, g.const(np.array([-1], np.int64)),
                    shape=(int(np.prod(input.shape)),))
        return g.op("Reshape", _roll(g, flat, shifts, 0), g.shape_of(input))
    x = input
    for shift, dim in zip(_tuple(shifts, 1), _tuple(dims, 1)):
        d = _axis(dim, input.rank)
        size = input.shape[d]
        s = shift % size if size else 0
        if s == 0:
            continue
        c = lambda v: g.const(np.array([v], np.int64))   # noqa: E731
        tail = g.op("Slice", x, c(size - s), c(size), c(d))
        head = g.op("Slice", x, c(0), c(size - s), c(d))
        x = g.op("Concat", tail, head, axis=d, shape=input.shape)
    return x


@_op("index_put")
def _index_put(g, input, key, value):
    """``x[key] = value`` with basic indexing on a fixed-shape x: ScatterND at the
    positions the key selects (worked out now from x's shape)."""
    if g.dynamic or any(isinstance(k, (Value, list)) for k in _tuple(key, 1)):
        return _unsupported("index_put_ (tensor indices or dynamic shapes)")
    shape = tuple(input.shape)
    positions = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)[key]
    indices = np.stack(np.unravel_index(positions, shape), axis=-1).astype(np.int64)
    updates = g.op("Expand", _operand(g, value, input.dtype),
                   g.const(np.array(positions.shape, np.int64)))
    return g.op("ScatterND", input, g.const(indices), updates)


# ---- resampling, statistics, norms -------------------------------------------------
_RESIZE_MODES = {"nearest": "nearest", "linear": "linear", "bilinear": "linear",
                 "trilinear": "linear", "bicubic": "cubic"}


@_op("interpolate", "upsample")
def _interpolate(g, input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None, antialias=False):
    if mode not in _RESIZE_MODES or antialias or recompute_scale_factor:
        return _unsupported(f"interpolate (mode={mode!r}, antialias={antialias}, "
                            f"recompute_scale_factor={recompute_scale_factor})")
    n = input.rank - 2
    attrs = {"mode": _RESIZE_MODES[mode]}
    if mode == "nearest":   # PyTorch's nearest: floor(dst * in / out)
        attrs.update(coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    else:
        attrs["coordinate_transformation_mode"] = "align_corners" if align_corners \
            else "pytorch_half_pixel"
        if mode == "bicubic":
            attrs["cubic_coeff_a"] = -0.75
    if size is not None:
        sizes = g.int_list([g.dim(input, 0), g.dim(input, 1)] + list(_tuple(size, n)))
        return g.op("Resize", input, None, None, sizes, **attrs)
    scales = [1.0, 1.0] + [float(s) for s in _tuple(scale_factor, n)]
    return g.op("Resize", input, None, g.const(np.array(scales, np.float32)), **attrs)


@_op("pixel_shuffle")
def _pixel_shuffle(g, input, upscale_factor):
    if input.rank != 4:
        return _unsupported("pixel_shuffle (not 4-d)")
    return g.op("DepthToSpace", input, blocksize=int(upscale_factor), mode="CRD")


@_op("repeat")
def _repeat(g, input, *sizes, **kwargs):
    sizes = _sizes(sizes or (kwargs["repeats"],))
    x = input
    if len(sizes) > input.rank:
        x = g.op("Reshape", x, g.int_list([1] * (len(sizes) - input.rank)
                                         + [g.dim(input, i) for i in range(input.rank)]))
    return g.op("Tile", x, g.int_list(sizes))


def _dims(input, dim):
    if dim is None or dim == () or dim == []:
        return list(range(input.rank))
    return [_axis(d, input.rank) for d in _tuple(dim, 1)]


def _moment(g, input, dim, correction, keepdim):
    """var with `correction`: sum((x - mean)^2) / (n - correction)."""
    dims = _dims(input, dim)
    x = g.cast(input, g.out_dtype)
    centred = g.op("Sub", x, _reduce(g, "ReduceMean", x, dims, True))
    total = _reduce(g, "ReduceSum", g.op("Mul", centred, centred), dims, keepdim)
    count = [g.dim(input, d) for d in dims]
    n = g.int_list(count) if any(isinstance(c, Value) for c in count) else None
    if n is None:
        denom = g.const(np.array(max(int(np.prod(count)) - correction, 0), g.out_dtype))
    else:
        prod = _reduce(g, "ReduceProd", n, [0], False)
        denom = g.op("Sub", g.cast(prod, g.out_dtype),
                     g.const(np.array(correction, g.out_dtype)))
    return g.op("Div", total, denom)


def _correction(unbiased, correction):
    if correction is not None:
        return float(correction)
    return 1.0 if unbiased in (None, True) else 0.0


@_op("var")
def _var(g, input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):            # var(x, unbiased)
        dim, unbiased = None, dim
    return _moment(g, input, dim, _correction(unbiased, correction), keepdim)


@_op("std")
def _std(g, input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return g.op("Sqrt", _var(g, input, dim, unbiased, keepdim, correction=correction))


def _lp_norm(g, x, p, dims, keepdim):
    if p in (2, 2.0, "fro"):
        return _reduce(g, "ReduceL2", x, dims, keepdim)
    if p in (1, 1.0):
        return _reduce(g, "ReduceL1", x, dims, keepdim)
    return _unsupported(f"norm (p={p!r})")


@_op("norm")
def _norm(g, input, p="fro", dim=None, keepdim=False, dtype=None):
    return _lp_norm(g, input, p, _dims(input, dim), keepdim)


@_op("vector_norm")
def _vector_norm(g, x, ord=2, dim=None, keepdim=False, *, dtype=None):
    return _lp_norm(g, x, ord, _dims(x, dim), keepdim)


@_op("normalize")
def _normalize(g, input, p=2.0, dim=1, eps=1e-12, out=None):
    norm = _lp_norm(g, input, p, [_axis(dim, input.rank)], True)
    return g.op("Div", input, g.op("Max", norm, g.const(np.array(eps, input.dtype))))


@_op("adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d")
def _adaptive_max_pool(g, input, output_size, return_indices=False):
    if return_indices or any(s != 1 for s in _tuple(output_size, input.rank - 2)):
        return _unsupported("adaptive_max_pool2d (output size other than 1, or indices)")
    return g.op("GlobalMaxPool", input)


def _max_min(reduce_op, arg_op, pairwise_op):
    def translate(g, input, dim=None, keepdim=False, *, out=None):
        if isinstance(dim, Value):       # max(x, y): elementwise
            dt = g.out_dtype
            return g.op(pairwise_op, g.cast(input, dt), g.cast(dim, dt))
        if dim is None:
            return _reduce(g, reduce_op, input, list(range(input.rank)), False)
        d = _axis(dim, input.rank)
        values = _reduce(g, reduce_op, input, [d], keepdim)
        indices = g.op(arg_op, input, axis=d, keepdims=int(keepdim), dtype=np.int64)
        return [values, indices]
    return translate


TRANSLATIONS["max"] = _max_min("ReduceMax", "ArgMax", "Max")
TRANSLATIONS["min"] = _max_min("ReduceMin", "ArgMin", "Min")
TRANSLATIONS["maximum"] = _binary("Max")
TRANSLATIONS["minimum"] = _binary("Min")


@_op("clamp_min")
def _clamp_min(g, input, min):
    return _clamp(g, input, min, None)


@_op("clamp_max")
def _clamp_max(g, input, max):
    return _clamp(g, input, None, max)
