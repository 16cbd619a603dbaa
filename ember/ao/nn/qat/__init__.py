"""ember.ao.nn.qat (torch.ao.nn.qat): modules for quantization-aware training, whose weights
are fake-quantized on each forward (Linear, Conv1d/2d/3d). Embedding, EmbeddingBag and the
dynamic QAT Linear are not built (NotImplementedError)."""
from .._not_built import not_built
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from . import dynamic  # noqa: F401,E402

__all__ = _modules_all + ["Embedding", "EmbeddingBag"]

Embedding = not_built("torch.ao.nn.qat", "Embedding",
                      "quantize embeddings weight-only (float_qparams_weight_only_qconfig)")
EmbeddingBag = not_built("torch.ao.nn.qat", "EmbeddingBag",
                         "EmbeddingBag has no quantized version in ember")
