"""TorchScript templates of the less common layers, for _codegen.py's table of leaves.

Each template returns the lines of the layer's ``forward`` body, written with the ATen
calls real ``torch.jit.load`` compiles and ember's interpreter runs: power-average and
fractional max pooling, local response normalisation, channel shuffle, bilinear maps,
fold/unfold, embedding bags, Softmax2d, RReLU and the two distance layers. Where
PyTorch's own scripted forward calls a helper of
``torch.nn.functional`` (``lp_pool2d``, ``local_response_norm``, ``embedding_bag``), the
template writes the helper's computation inline, so an archive holds one class per layer.
"""
import math

from ._codegen_literal import literal, n_list, opt

__all__ = ["LAYERS", "SIGNATURES"]


def _lp_pool(n):
    """LPPool{n}d: (sum of x^p over each window)^(1/p), as the average of x^p times the
    window's size; sign(s) * relu(|s|) keeps a negative sum (odd p) at zero, as PyTorch.
    p = inf is the max of |x| over each window, p = -inf its min (PyTorch's special
    cases); p = 0 raises PyTorch's ZeroDivisionError (1 / p) when run."""
    def code(m):
        p = float(m.norm_type)
        k = n_list(m.kernel_size, n)
        stride = n_list(m.stride if m.stride is not None else m.kernel_size, n)
        if math.isinf(p):
            pool = (f"torch.max_pool{n}d({{}}, {literal(k)}, {literal(stride)}, "
                    f"{literal([0] * n)}, {literal([1] * n)}, {literal(bool(m.ceil_mode))})")
            if p > 0:
                return [f"return {pool.format('torch.abs(input)')}"]
            return [f"return torch.neg({pool.format('torch.neg(torch.abs(input))')})"]
        if p == 0:
            return ["ops.prim.RaiseException(\"float division by zero\", "
                    "\"builtins.ZeroDivisionError\")",
                    "return input"]
        pool = (f"torch.avg_pool{n}d(torch.pow(input, {literal(p)}), {literal(k)}, "
                f"{literal(stride)}, {literal([0] * n)}, {literal(bool(m.ceil_mode))}, True"
                + (", None)" if n > 1 else ")"))
        return [f"out = {pool}",
                "kept = torch.mul(torch.sign(out), torch.relu(torch.abs(out)))",
                f"return torch.pow(torch.mul(kept, {math.prod(k)}), {literal(1.0 / p)})"]
    return code


def _local_response_norm(m):
    """x / (k + alpha * mean of x^2 over `size` neighbouring channels)^beta: the squares
    padded along the channels, averaged by a (size, 1[, 1]) pooling window."""
    size = int(m.size)
    before, after = size // 2, (size - 1) // 2
    scale = (f"torch.pow(torch.add(torch.mul(div0, {literal(float(m.alpha))}), "
             f"{literal(float(m.k))}), {literal(float(m.beta))})")
    return [
        "dim = torch.dim(input)",
        "if torch.lt(dim, 3):",
        "  ops.prim.RaiseException(torch.format(\"Expected 3D or higher dimensionality input "
        "(got {} dimensions)\", dim), \"builtins.ValueError\")",
        "else:",
        "  pass",
        "div = torch.mul(input, input)",
        "if torch.eq(dim, 3):",
        f"  padded = torch.constant_pad_nd(torch.unsqueeze(div, 1), [0, 0, {before}, "
        f"{after}], 0)",
        f"  div0 = torch.squeeze(torch.avg_pool2d(padded, [{size}, 1], [1, 1], [0, 0], False, "
        f"True, None), 1)",
        "else:",
        "  sizes = torch.size(input)",
        "  div1 = torch.view(div, [sizes[0], 1, sizes[1], sizes[2], -1])",
        f"  padded0 = torch.constant_pad_nd(div1, [0, 0, 0, 0, {before}, {after}], 0)",
        f"  pooled = torch.avg_pool3d(padded0, [{size}, 1, 1], [1, 1, 1], [0, 0, 0], False, "
        f"True, None)",
        "  div0 = torch.view(torch.squeeze(pooled, 1), sizes)",
        f"return torch.div(input, {scale})",
    ]


def _fractional_max_pool(n):
    """FractionalMaxPool{n}d: ATen's fractional_max_pool{n}d with the layer's fixed
    samples (a buffer) or, without them, samples drawn per call as PyTorch draws them
    (uniform, (N, C, n), the input's dtype)."""
    def code(m):
        lines = [f"batched = torch.eq(torch.dim(input), {n + 2})",
                 "if batched:",
                 "  n_batch = torch.size(input, 0)",
                 "else:",
                 "  n_batch = 1"]
        if m.output_size is not None:
            size = literal(n_list(m.output_size, n))
        else:
            dims = [f"int(torch.mul(torch.size(input, {i - n}), {literal(float(r))}))"
                    for i, r in enumerate(m.output_ratio)]
            size = "[" + ", ".join(dims) + "]"
        lines.append(f"output_size = {size}")
        if getattr(m, "_random_samples", None) is not None:
            lines.append("samples = self._random_samples")
        else:
            lines.append(f"samples = torch.rand([n_batch, torch.size(input, {-n - 1}), {n}], "
                         f"dtype=ops.prim.dtype(input), layout=None, "
                         f"device=ops.prim.device(input))")
        call = (f"torch.fractional_max_pool{n}d(input, {literal(n_list(m.kernel_size, n))}, "
                f"output_size, samples)")
        lines.append(f"return {call}" if m.return_indices else f"return ({call})[0]")
        return lines
    return code


def _bilinear(m):
    return [f"return torch.bilinear(input1, input2, self.weight, {opt(m, 'bias')})"]


def _fold(m):
    return [f"return torch.col2im(input, {literal(n_list(m.output_size, 2))}, "
            f"{literal(n_list(m.kernel_size, 2))}, {literal(n_list(m.dilation, 2))}, "
            f"{literal(n_list(m.padding, 2))}, {literal(n_list(m.stride, 2))})"]


def _unfold(m):
    return [f"return torch.im2col(input, {literal(n_list(m.kernel_size, 2))}, "
            f"{literal(n_list(m.dilation, 2))}, {literal(n_list(m.padding, 2))}, "
            f"{literal(n_list(m.stride, 2))})"]


_BAG_MODES = {"sum": 0, "mean": 1, "max": 2}


def _embedding_bag(m):
    """EmbeddingBag: a 2-D input is bags of equal length (offsets made with arange), a
    1-D input takes the given offsets; ATen's embedding_bag returns four tensors, the
    first is the layer's output. With max_norm the rows looked up are renormed in place
    first, as PyTorch's F.embedding_bag does."""
    if m.mode not in _BAG_MODES:
        raise NotImplementedError(f"ember.jit.save: EmbeddingBag with mode={m.mode!r}")
    pad = "None" if m.padding_idx is None else str(int(m.padding_idx))
    return [
        "if torch.eq(torch.dim(input), 2):",
        "  if torch.__isnot__(offsets, None):",
        "    ops.prim.RaiseException(\"if input is 2D, then offsets has to be None, as input "
        "is treated is a mini-batch of fixed length sequences.\", \"builtins.ValueError\")",
        "  else:",
        "    pass",
        "  offsets0 = torch.arange(0, torch.numel(input), torch.size(input, 1), "
        "dtype=ops.prim.dtype(input), layout=None, device=ops.prim.device(input))",
        "  input0 = torch.reshape(input, [-1])",
        "  if torch.__isnot__(per_sample_weights, None):",
        "    weights0 = torch.reshape(unchecked_cast(Tensor, per_sample_weights), [-1])",
        "  else:",
        "    weights0 = None",
        "elif torch.eq(torch.dim(input), 1):",
        "  if torch.__is__(offsets, None):",
        "    ops.prim.RaiseException(\"offsets has to be a 1D Tensor but got None\", "
        "\"builtins.ValueError\")",
        "  else:",
        "    pass",
        "  offsets0 = unchecked_cast(Tensor, offsets)",
        "  input0 = input",
        "  weights0 = per_sample_weights",
        "else:",
        "  ops.prim.RaiseException(torch.format(\"input has to be 1D or 2D Tensor, but got "
        "Tensor of dimension {}\", torch.dim(input)), \"builtins.ValueError\")",
        "  offsets0 = input",
        "  input0 = input",
        "  weights0 = per_sample_weights",
    ] + ([   # the rows looked up renormed in place first, without recording a gradient
        f"_r = torch.embedding_renorm_(torch.detach(self.weight), input0, "
        f"{literal(float(m.max_norm))}, {literal(float(m.norm_type))})"]
         if m.max_norm is not None else []) + [
        f"out, _0, _1, _2 = torch.embedding_bag(self.weight, input0, offsets0, "
        f"{literal(bool(m.scale_grad_by_freq))}, {_BAG_MODES[m.mode]}, "
        f"{literal(bool(m.sparse))}, weights0, {literal(bool(m.include_last_offset))}, {pad})",
        "return out",
    ]


def _softmax2d(m):
    return ["dim = torch.dim(input)",
            "if torch.__not__(torch.__contains__([3, 4], dim)):",
            "  ops.prim.RaiseException(torch.format(\"Softmax2d: expected input to be 3D or "
            "4D, got {}D instead\", dim), \"builtins.ValueError\")",
            "else:",
            "  pass",
            "return torch.softmax(input, -3, None)"]


def _rrelu(m):
    fn = "rrelu_" if m.inplace else "rrelu"
    return [f"return torch.{fn}(input, {literal(float(m.lower))}, {literal(float(m.upper))}, "
            f"self.training)"]


def _max_unpool(n):
    """MaxUnpool{n}d: the values put back at their indices in zeros of the output size,
    by default (in - 1) * stride - 2 * padding + kernel per spatial dimension; ATen's
    max_unpool2d/3d (a 1-d unpooling is a 2-d one over a trailing unit dimension)."""
    def code(m):
        k, s, p = (n_list(v, n) for v in (m.kernel_size, m.stride, m.padding))
        default = ", ".join(f"torch.add(torch.sub(torch.mul(torch.sub(torch.size(input, "
                            f"{i - n}), 1), {s[i]}), {2 * p[i]}), {k[i]})" for i in range(n))
        lines = ["if torch.__is__(output_size, None):",
                 f"  size = [{default}]",
                 "else:",
                 f"  size = torch.slice(unchecked_cast(List[int], output_size), {-n})"]
        if n == 1:
            lines.append("return torch.squeeze(torch.max_unpool2d(torch.unsqueeze(input, -1), "
                         "torch.unsqueeze(indices, -1), [size[0], 1]), -1)")
        elif n == 2:
            lines.append("return torch.max_unpool2d(input, indices, size)")
        else:
            lines.append(f"return torch.max_unpool3d(input, indices, size, {literal(s)}, "
                         f"{literal(p)})")
        return lines
    return code


SIGNATURES = {
    "MaxUnpool1d": ["input: Tensor", "indices: Tensor",
                    "output_size: Optional[List[int]]=None"],
    "MaxUnpool2d": ["input: Tensor", "indices: Tensor",
                    "output_size: Optional[List[int]]=None"],
    "MaxUnpool3d": ["input: Tensor", "indices: Tensor",
                    "output_size: Optional[List[int]]=None"],
    "Bilinear": ["input1: Tensor", "input2: Tensor"],
    "CosineSimilarity": ["x1: Tensor", "x2: Tensor"],
    "PairwiseDistance": ["x1: Tensor", "x2: Tensor"],
    "EmbeddingBag": ["input: Tensor", "offsets: Optional[Tensor]=None",
                     "per_sample_weights: Optional[Tensor]=None"],
    "_WeightNorm": ["weight_g: Tensor", "weight_v: Tensor"],
}

LAYERS = {
    "LPPool1d": _lp_pool(1), "LPPool2d": _lp_pool(2), "LPPool3d": _lp_pool(3),
    "LocalResponseNorm": _local_response_norm,
    "FractionalMaxPool2d": _fractional_max_pool(2),
    "FractionalMaxPool3d": _fractional_max_pool(3),
    "Bilinear": _bilinear, "Fold": _fold, "Unfold": _unfold,
    "ChannelShuffle": lambda m: [f"return torch.channel_shuffle(input, {int(m.groups)})"],
    "EmbeddingBag": _embedding_bag,
    "Softmax2d": _softmax2d, "RReLU": _rrelu,
    # weight_norm's parametrization: w = g v / ||v|| (norm over all dims but dim)
    "_WeightNorm": lambda m: [f"return torch._weight_norm(weight_v, weight_g, {int(m.dim)})"],
    "MaxUnpool1d": _max_unpool(1), "MaxUnpool2d": _max_unpool(2), "MaxUnpool3d": _max_unpool(3),
    "CosineSimilarity": lambda m: [f"return torch.cosine_similarity(x1, x2, {int(m.dim)}, "
                                   f"{literal(float(m.eps))})"],
    "PairwiseDistance": lambda m: [f"return torch.pairwise_distance(x1, x2, "
                                   f"{literal(float(m.norm))}, {literal(float(m.eps))}, "
                                   f"{literal(bool(m.keepdim))})"],
}
