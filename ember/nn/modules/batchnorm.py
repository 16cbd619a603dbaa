"""torch.nn.modules.batchnorm's names (code tests ``isinstance(m, nn.modules.batchnorm._BatchNorm)``);
the classes live in normalization.py and syncbatchnorm.py."""
from .normalization import (_BatchNorm, _LazyNormBase, _NormBase, BatchNorm1d, BatchNorm2d,
                            BatchNorm3d, LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d)
from .syncbatchnorm import SyncBatchNorm

__all__ = ["BatchNorm1d", "LazyBatchNorm1d", "BatchNorm2d", "LazyBatchNorm2d", "BatchNorm3d",
           "LazyBatchNorm3d", "SyncBatchNorm"]
