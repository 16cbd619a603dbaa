"""torch.utils.data._utils: PyTorch's private helpers of the data loader that programs import
by this path (``from torch.utils.data._utils.collate import default_collate``)."""
from . import collate  # noqa: F401
