"""ember.testing (``torch.testing``): assert_close with PyTorch's tolerances and messages,
and make_tensor for random test inputs."""
from ._comparison import assert_close, assert_allclose
from ._creation import make_tensor

__all__ = ["assert_close", "make_tensor", "assert_allclose"]
