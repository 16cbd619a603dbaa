"""Quantized Embedding (torch.ao.nn.quantized.Embedding): a weight-only quantized lookup
table, each row quint8 with its own float scale and zero point
(per_channel_affine_float_qparams); the output is float:

    out[i] = q[idx[i]] * s[idx[i]] + b[idx[i]],   b = -z * s (float32)

with one rounding of the multiply-add, as fbgemm's embedding_byte kernel. quint4x2 rows and
EmbeddingBag are not built (NotImplementedError)."""
import numpy as np

import ember
from ember import nn

from ember.ao.quantization._qscheme import per_channel_affine_float_qparams
from .utils import _hide_packed_params_repr, _quantize_weight

__all__ = ["EmbeddingPackedParams", "Embedding"]


class EmbeddingPackedParams(nn.Module):
    """Holds the quantized table (state_dict entries ``dtype`` and ``_packed_weight``, as
    torch saves them)."""

    _version = 1

    def __init__(self, num_embeddings, embedding_dim, dtype=None):
        super().__init__()
        self.dtype = ember.quint8 if dtype is None else dtype
        if self.dtype != ember.quint8:
            raise NotImplementedError(f"quantized Embedding with {self.dtype} rows is not built "
                                      f"in ember (quint8 only)")
        scales = ember.ones(num_embeddings, dtype=ember.float)
        zero_points = ember.zeros(num_embeddings, dtype=ember.float)
        # a zero table with float zero points (the float-qparams scheme)
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


def embedding_byte(qweight, indices):
    """The float rows of the quint8 table at `indices` (see the module docstring)."""
    if indices.dtype not in (ember.int64, ember.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {indices.dtype} instead")
    ints = qweight.int_repr().cpu().numpy().astype(np.float64)
    scales = qweight.q_per_channel_scales().cpu().numpy().astype(np.float32)
    zero_points = qweight.q_per_channel_zero_points().cpu().numpy().astype(np.float32)
    bias = (-zero_points * scales).astype(np.float32)
    idx = indices.cpu().numpy().astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= ints.shape[0]):
        raise IndexError(f"index out of range: embedding indices must lie in "
                         f"[0, {ints.shape[0]})")
    rows = (ints[idx] * scales.astype(np.float64)[idx, None]
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
        return embedding_byte(self._packed_params._weight(), indices)

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
        if dtype == ember.quint4x2:
            raise NotImplementedError("quantized Embedding with quint4x2 rows is not built in "
                                      "ember (quint8 only)")
        weight_observer(mod.weight)
        qweight = _quantize_weight(mod.weight.float(), weight_observer)
        qembedding = Embedding(mod.num_embeddings, mod.embedding_dim)
        qembedding.set_weight(qweight)
        return qembedding
