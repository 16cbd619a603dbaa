"""Quantized Embedding (torch.ao.nn.quantized.Embedding): a weight-only quantized lookup
table, each row quint8 with its own float scale and zero point
(per_channel_affine_float_qparams); the output is float:

    out[i] = q[idx[i]] * s[idx[i]] + b[idx[i]],   b = -z * s (float32)

with one rounding of the multiply-add, as fbgemm's embedding_byte kernel; EmbeddingBag sums
the rows of each bag in fbgemm's order (see `embedding_bag_byte`). quint4x2 rows (4-bit,
dtype=ember.quint4x2, float_qparams_weight_only_qconfig_4bit) are the same arithmetic with
s and b rounded to float16, as fbgemm's 4-bit rows store them. (With an odd embedding_dim
PyTorch's 4-bit packing reads its rows misaligned, so its outputs are not the table's
values, and it returns one column more; ember returns the table's values.)"""
import numpy as np

import ember
from ember import nn

from ember.ao.quantization._qscheme import per_channel_affine_float_qparams
from .utils import _hide_packed_params_repr, _quantize_weight

__all__ = ["EmbeddingPackedParams", "Embedding", "EmbeddingBag"]


class EmbeddingPackedParams(nn.Module):
    """Holds the quantized table (state_dict entries ``dtype`` and ``_packed_weight``, as
    torch saves them)."""

    _version = 1

    def __init__(self, num_embeddings, embedding_dim, dtype=None):
        super().__init__()
        self.dtype = ember.quint8 if dtype is None else dtype
        if self.dtype not in (ember.quint8, ember.quint4x2):
            raise NotImplementedError(f"Unsupported dtype on quantized embedding! Supports "
                                      f"quint8 and quint4x2. Got dtype: {self.dtype}")
        scales = ember.ones(num_embeddings, dtype=ember.float)
        zero_points = ember.zeros(num_embeddings, dtype=ember.float)
        # a zero table with float zero points (the float-qparams scheme), quint8 whatever
        # the dtype, as PyTorch's
        self.set_weight(ember.quantize_per_channel(
            ember.zeros(num_embeddings, embedding_dim), scales, zero_points, 0, ember.quint8))

    def set_weight(self, weight):
        if not getattr(weight, "is_quantized", False) or \
                weight.qscheme() != per_channel_affine_float_qparams:
            raise NotImplementedError("quantized::embedding_bag_prepack: the weight must be "
                                      "quantized per_channel_affine_float_qparams")
        self._packed_weight = weight

    def _weight(self):
        return self._packed_weight

    def __setstate__(self, state):
        # a whole module torch saved holds its table in a torch.ScriptObject
        super().__setstate__(state)
        from ember import _script_object
        self._packed_weight = _script_object.embedding_weight(self._packed_weight,
                                                              "EmbeddingPackedParams")

    def forward(self, x):
        return x

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "dtype"] = self.dtype
        destination[prefix + "_packed_weight"] = self._weight()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self.dtype = state_dict.pop(prefix + "dtype")
        self.set_weight(state_dict.pop(prefix + "_packed_weight"))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)

    def __repr__(self):
        return self._weight().__repr__()


def _table(qweight, dtype, fname):
    """(integers (rows, dim), float32 scales, float32 biases -z * s) of a table whose
    module dtype is `dtype`: quint4x2 tables keep the scale and bias in float16, as
    fbgemm's 4-bit rows do."""
    if qweight.dtype != dtype:
        raise RuntimeError(f"{fname}: the module's dtype is {dtype} but its table holds "
                           f"{qweight.dtype} rows")
    f32 = np.float32
    ints = qweight._data.ints
    scales = qweight.q_per_channel_scales().cpu().numpy().astype(f32)
    bias = (-qweight.q_per_channel_zero_points().cpu().numpy().astype(f32) * scales).astype(f32)
    if dtype == ember.quint4x2:
        scales = scales.astype(np.float16).astype(f32)
        bias = bias.astype(np.float16).astype(f32)
    return ints, scales, bias


def _indices(indices, rows):
    if indices.dtype not in (ember.int64, ember.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {indices.dtype} instead")
    idx = indices.cpu().numpy().astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= rows):
        raise IndexError(f"index out of range: embedding indices must lie in [0, {rows})")
    return idx


def embedding_byte(qweight, indices, dtype=None):
    """The float rows of the table at `indices` (see the module docstring); dtype the
    module's (quint8: embedding_byte; quint4x2: embedding_4bit)."""
    dtype = ember.quint8 if dtype is None else dtype
    fname = "quantized::embedding_4bit" if dtype == ember.quint4x2 else \
        "quantized::embedding_byte"
    ints, scales, bias = _table(qweight, dtype, fname)
    idx = _indices(indices, ints.shape[0])
    rows = (ints[idx].astype(np.float64) * scales.astype(np.float64)[idx, None]
            + bias.astype(np.float64)[idx, None]).astype(np.float32)
    return ember.from_numpy(np.ascontiguousarray(rows))


class Embedding(nn.Module):
    """A lookup table with quint8 rows (weight-only quantization; float output)."""

    _version = 1

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 dtype=None):
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.dtype = ember.quint8 if dtype is None else dtype
        self._packed_params = EmbeddingPackedParams(num_embeddings, embedding_dim, self.dtype)
        if _weight is not None:
            if list(_weight.shape) != [num_embeddings, embedding_dim]:
                raise AssertionError(f"Shape of weight does not match num_embeddings and "
                                     f"embedding_dim: expected {[num_embeddings, embedding_dim]}"
                                     f", got {list(_weight.shape)}")
            self._packed_params.set_weight(_weight)

    def forward(self, indices):
        return embedding_byte(self._packed_params._weight(), indices, self._packed_params.dtype)

    def _get_name(self):
        return "QuantizedEmbedding"

    def __repr__(self):
        return _hide_packed_params_repr(self, EmbeddingPackedParams)

    def extra_repr(self):
        return (f"num_embeddings={self.num_embeddings}, embedding_dim={self.embedding_dim}, "
                f"dtype={self._packed_params.dtype}, qscheme={self.weight().qscheme()}")

    def set_weight(self, w):
        self._packed_params.set_weight(w)

    def weight(self):
        return self._packed_params._weight()

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The quantized table of an nn.Embedding whose qconfig's weight observer uses
        per_channel_affine_float_qparams (float_qparams_weight_only_qconfig)."""
        if type(mod) is not nn.Embedding:
            raise AssertionError("nnq." + cls.__name__ + ".from_float only works for "
                                 + nn.Embedding.__name__)
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Embedding input float module must have qconfig defined")
        if mod.qconfig is not None and mod.qconfig.weight is not None:
            weight_observer = mod.qconfig.weight()
        else:
            from ember.ao.quantization.qconfig import float_qparams_weight_only_qconfig
            weight_observer = float_qparams_weight_only_qconfig.weight()
        if weight_observer.qscheme != per_channel_affine_float_qparams:
            raise AssertionError("Embedding quantization is only supported with "
                                 "float_qparams_weight_only_qconfig.")
        dtype = weight_observer.dtype
        if dtype not in (ember.quint8, ember.quint4x2):
            raise AssertionError(f"The only supported dtype for nnq.Embedding is torch.quint8 "
                                 f"and torch.quint4x2, got {dtype}")
        weight_observer(mod.weight)
        qweight = _quantize_weight(mod.weight.float(), weight_observer)
        # (as PyTorch: a quint8 module whatever the observer's dtype; a quint4x2 table in it
        # makes its forward raise)
        qembedding = Embedding(mod.num_embeddings, mod.embedding_dim)
        qembedding.set_weight(qweight)
        return qembedding


def embedding_bag_byte(qweight, indices, offsets=None, scale_grad_by_freq=False, mode=0,
                       pruned_weights=False, per_sample_weights=None,
                       compressed_indices_mapping=None, include_last_offset=False,
                       dtype=None):
    """Bags of rows of the table summed, as fbgemm's EmbeddingSpMDM (dtype the module's:
    quint8, or quint4x2 with float16 scales and biases): per bag, from zeros, one index
    after the other,

        acc = fma(w * s[i], q[i], acc + w * b[i])        (float32; w the sample's weight)

    PyTorch's kernel sums whatever `mode` asks (1, the mean, gives the sum too), and so
    does this one. `indices` 1-D with `offsets` (bag starts; with
    `include_last_offset` the last entry ends the last bag) or 2-D (one bag per row)."""
    dtype = ember.quint8 if dtype is None else dtype
    fname = "quantized::embedding_bag_4bit" if dtype == ember.quint4x2 else \
        "quantized::embedding_bag_byte"
    if pruned_weights or compressed_indices_mapping is not None:
        raise NotImplementedError(f"{fname} with pruned weights is not built in ember")
    ints, scales, bias = _table(qweight, dtype, fname)
    idx = _indices(indices, ints.shape[0])
    if idx.ndim == 2:
        if offsets is not None:
            raise RuntimeError("offsets has to be None if indices is 2D")
        # one bag per row: the row starts are the offsets (with include_last_offset the
        # last row only ends the one before, as PyTorch's kernel reads them)
        starts = np.arange(idx.shape[0], dtype=np.int64) * idx.shape[1]
        idx = idx.reshape(-1)
    else:
        if offsets is None:
            raise RuntimeError("offsets has to be a 1D Tensor but got null")
        starts = offsets.cpu().numpy().astype(np.int64).reshape(-1)
    if not include_last_offset:
        starts = np.append(starts, idx.size)
    f32 = np.float32
    if per_sample_weights is not None:
        sample_w = per_sample_weights.detach().cpu().numpy().astype(f32).reshape(-1)
    lengths = np.diff(starts)
    out = np.zeros((lengths.size, ints.shape[1]), dtype=f32)
    for j in range(int(lengths.max()) if lengths.size else 0):
        bags = np.nonzero(lengths > j)[0]
        pos = starts[bags] + j
        rows = idx[pos]
        s, b = scales[rows], bias[rows]
        if per_sample_weights is not None:
            s, b = (sample_w[pos] * s).astype(f32), (sample_w[pos] * b).astype(f32)
        shifted = (out[bags] + b[:, None]).astype(f32)
        # fma: the float32 * 8-bit product is exact in float64, rounded once with the sum
        out[bags] = (s.astype(np.float64)[:, None] * ints[rows].astype(np.float64)
                     + shifted.astype(np.float64)).astype(f32)
    return ember.from_numpy(out)


class EmbeddingBag(Embedding):
    """Bags of quint8 rows summed (weight-only quantization; float output). As PyTorch's
    module, forward sums whatever `mode` says (it passes mode 0 to the kernel)."""

    _version = 1

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="sum", sparse=False, _weight=None,
                 include_last_offset=False, dtype=None):
        super().__init__(num_embeddings, embedding_dim, _weight=_weight, dtype=dtype)
        self.mode = mode
        self.pruned_weights = False
        self.include_last_offset = include_last_offset
        self.dtype = ember.quint8 if dtype is None else dtype

    def forward(self, indices, offsets=None, per_sample_weights=None,
                compressed_indices_mapping=None):
        return embedding_bag_byte(self._packed_params._weight(), indices, offsets, False, 0,
                                  self.pruned_weights, per_sample_weights,
                                  compressed_indices_mapping, self.include_last_offset,
                                  self._packed_params.dtype)

    def _get_name(self):
        return "QuantizedEmbeddingBag"

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The quantized bags of an nn.EmbeddingBag whose qconfig's weight observer uses
        per_channel_affine_float_qparams (or of a QAT EmbeddingBag)."""
        if hasattr(mod, "weight_fake_quant"):
            weight_observer = mod.weight_fake_quant
        else:
            if type(mod) is not nn.EmbeddingBag:
                raise AssertionError("nnq." + cls.__name__ + ".from_float only works for "
                                     + nn.EmbeddingBag.__name__)
            if not hasattr(mod, "qconfig"):
                raise AssertionError("EmbeddingBag input float module must have qconfig "
                                     "defined")
            if mod.qconfig is not None and mod.qconfig.weight is not None:
                weight_observer = mod.qconfig.weight()
            else:
                from ember.ao.quantization.qconfig import float_qparams_weight_only_qconfig
                weight_observer = float_qparams_weight_only_qconfig.weight()
        dtype = weight_observer.dtype
        if weight_observer.qscheme != per_channel_affine_float_qparams:
            raise AssertionError("EmbeddingBag quantization is only supported with "
                                 "float_qparams_weight_only_qconfig.")
        if dtype not in (ember.quint8, ember.quint4x2):
            raise AssertionError(f"The only supported dtype for nnq.EmbeddingBag is "
                                 f"torch.quint8 and torch.quint4x2, got {dtype}")
        weight_observer(mod.weight)
        qweight = _quantize_weight(mod.weight.float(), weight_observer)
        qembedding_bag = EmbeddingBag(mod.num_embeddings, mod.embedding_dim,
                                      max_norm=mod.max_norm, norm_type=mod.norm_type,
                                      scale_grad_by_freq=mod.scale_grad_by_freq,
                                      mode=mod.mode, sparse=mod.sparse,
                                      include_last_offset=mod.include_last_offset,
                                      dtype=dtype)
        qembedding_bag.set_weight(qweight)
        return qembedding_bag
