"""torch.autograd.variable: where old programs import Variable from
(``from torch.autograd.variable import Variable``); the class is ember.autograd's."""
from . import Variable  # noqa: F401

__all__ = ["Variable"]
