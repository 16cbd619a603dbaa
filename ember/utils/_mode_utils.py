"""ember.utils._mode_utils (``torch.utils._mode_utils``): ``no_dispatch()``, a block whose
ops no TorchDispatchMode or ``__torch_dispatch__`` subclass sees."""
from ._python_dispatch import no_dispatch  # noqa: F401

__all__ = ["no_dispatch"]
