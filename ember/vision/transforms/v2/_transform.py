"""Transform: the base class of the v2 transforms.

``forward(*inputs)`` flattens the sample (any nesting of tuples, lists and dicts), decides
which leaves to transform, draws the random parameters once (``make_params``) and
transforms each chosen leaf with them (``transform``), so an image, its boxes and its
masks move together. Which leaves: the types in ``_transformed_types``; of the plain
tensors only the first, and only when the sample holds no Image, Video or PIL image
(torchvision's heuristic: that tensor is taken to be the image)."""
import enum

from .... import nn, rand
from ....utils._pytree import tree_flatten, tree_unflatten
from ...._tensor import Tensor
from ... import tv_tensors
from ._utils import _PIL, check_type, has_any
from .functional import is_pure_tensor
from .functional._utils import _get_kernel

__all__ = ["Transform"]


class Transform(nn.Module):
    """Base class of the v2 transforms; subclasses override ``make_params`` (the random
    draws, given the flattened inputs to transform) and ``transform(inpt, params)``."""

    _transformed_types = (Tensor, _PIL)

    def check_inputs(self, flat_inputs):
        pass

    def make_params(self, flat_inputs):
        return dict()

    def _call_kernel(self, functional, inpt, *args, **kwargs):
        kernel = _get_kernel(functional, type(inpt), allow_passthrough=True)
        return kernel(inpt, *args, **kwargs)

    def transform(self, inpt, params):
        raise NotImplementedError

    def forward(self, *inputs):
        flat_inputs, spec = tree_flatten(inputs if len(inputs) > 1 else inputs[0])
        self.check_inputs(flat_inputs)
        needs = self._needs_transform_list(flat_inputs)
        params = self.make_params([inpt for inpt, n in zip(flat_inputs, needs) if n])
        flat_outputs = [self.transform(inpt, params) if n else inpt
                        for inpt, n in zip(flat_inputs, needs)]
        return tree_unflatten(flat_outputs, spec)

    def _needs_transform_list(self, flat_inputs):
        transform_pure_tensor = not has_any(flat_inputs, tv_tensors.Image, tv_tensors.Video,
                                            _PIL)
        needs = []
        for inpt in flat_inputs:
            need = True
            if not check_type(inpt, self._transformed_types):
                need = False
            elif is_pure_tensor(inpt):
                if transform_pure_tensor:
                    transform_pure_tensor = False
                else:
                    need = False
            needs.append(need)
        return needs

    def extra_repr(self):
        extra = []
        for name, value in self.__dict__.items():
            if name.startswith("_") or name == "training":
                continue
            if not isinstance(value, (bool, int, float, str, tuple, list, enum.Enum)):
                continue
            extra.append(f"{name}={value}")
        return ", ".join(extra)


class _RandomApplyTransform(Transform):
    """A transform applied with probability p (one draw of torch.rand(1) per call)."""

    def __init__(self, p=0.5):
        if not (0.0 <= p <= 1.0):
            raise ValueError("`p` should be a floating point value in the interval [0.0, 1.0].")
        super().__init__()
        self.p = p

    def forward(self, *inputs):
        inputs = inputs if len(inputs) > 1 else inputs[0]
        flat_inputs, spec = tree_flatten(inputs)
        self.check_inputs(flat_inputs)
        if rand(1) >= self.p:
            return inputs
        needs = self._needs_transform_list(flat_inputs)
        params = self.make_params([inpt for inpt, n in zip(flat_inputs, needs) if n])
        flat_outputs = [self.transform(inpt, params) if n else inpt
                        for inpt, n in zip(flat_inputs, needs)]
        return tree_unflatten(flat_outputs, spec)
