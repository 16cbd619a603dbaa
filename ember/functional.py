"""torch.functional: the module PyTorch's own Python-level tensor functions live in
(``import torch.functional as F`` appears in tutorials). Each name is the function of the
same name in ``ember``; nothing is defined here."""
import ember as _ember

__all__ = ["atleast_1d", "atleast_2d", "atleast_3d", "broadcast_shapes", "broadcast_tensors",
           "cartesian_prod", "block_diag", "cdist", "chain_matmul", "einsum", "istft", "lu",
           "norm", "meshgrid", "pca_lowrank", "split", "stft", "svd_lowrank", "tensordot",
           "unique", "unique_consecutive", "unravel_index"]

globals().update({name: getattr(_ember, name) for name in __all__})

# torch.functional's own imports that programs reach through it (`from torch.functional
# import F` in the transfer-learning tutorial)
from ember import Tensor  # noqa: E402,F401
from ember.nn import functional as F  # noqa: E402,F401
