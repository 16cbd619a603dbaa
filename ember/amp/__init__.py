"""ember.amp: automatic mixed precision (PyTorch's torch.amp).

``autocast`` runs a region's ops in PyTorch's per-op dtypes (matrix products and
convolutions in bfloat16/float16, losses and linear algebra in float32); ``GradScaler``
scales the loss so that small float16 gradients do not flush to zero, and skips the
optimizer steps whose gradients overflowed.
"""
from .autocast_mode import autocast, custom_fwd, custom_bwd, is_autocast_available
from .grad_scaler import GradScaler, OptState

__all__ = ["autocast", "custom_fwd", "custom_bwd", "is_autocast_available", "GradScaler"]
