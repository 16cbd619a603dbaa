"""ember.types (torch.types): the type aliases PyTorch's annotations use, for programs that
annotate with them (``def f(x: torch.types.Number)``)."""
import os
from typing import IO, Union

from ._device import device as _device
from ._dtype import dtype as _dtype
from ._tensor import Size as _SizeClass, Tensor
from .storage import UntypedStorage as Storage

__all__ = ["Number", "Device", "FileLike", "Storage", "Tensor", "BoolLikeType",
           "IntLikeType", "FloatLikeType"]

_int, _float, _bool, _complex = int, float, bool, complex
_size = Union[_SizeClass, list, tuple]
Number = Union[int, float, bool]
Device = Union[_device, str, int, None]
FileLike = Union[str, os.PathLike, IO[bytes]]
# ember has no symbolic numbers: the Sym* halves of PyTorch's unions are plain numbers
BoolLikeType = bool
IntLikeType = int
FloatLikeType = float
