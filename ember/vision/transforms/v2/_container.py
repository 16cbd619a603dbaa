"""Compose, RandomApply, RandomChoice, RandomOrder."""
from collections.abc import Sequence

from .... import multinomial, nn, rand, randperm, tensor
from ._transform import Transform

__all__ = ["Compose", "RandomApply", "RandomChoice", "RandomOrder"]


def _run_all(transforms, inputs):
    needs_unpacking = len(inputs) > 1
    outputs = inputs if needs_unpacking else inputs[0]
    for t in transforms:
        outputs = t(*inputs)
        inputs = outputs if needs_unpacking else (outputs,)
    return outputs


def _format_transforms(transforms):
    return "\n".join(f"    {t}" for t in transforms)


class Compose(Transform):
    """The transforms applied in sequence (a sample given as several arguments is passed
    on unpacked)."""

    def __init__(self, transforms):
        super().__init__()
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence of callables")
        if not transforms:
            raise ValueError("Pass at least one transform")
        self.transforms = transforms

    def forward(self, *inputs):
        return _run_all(self.transforms, inputs)

    def extra_repr(self):
        return _format_transforms(self.transforms)


class RandomApply(Transform):
    """All the transforms, with probability p (else the input unchanged)."""

    def __init__(self, transforms, p=0.5):
        super().__init__()
        if not isinstance(transforms, (Sequence, nn.ModuleList)):
            raise TypeError("Argument transforms should be a sequence of callables or a "
                            "`nn.ModuleList`")
        if not transforms:
            raise ValueError("Pass at least one transform")
        self.transforms = transforms
        if not 0.0 <= p <= 1.0:
            raise ValueError("`p` should be a floating point value in the interval [0.0, 1.0].")
        self.p = p

    def forward(self, *inputs):
        if rand(1) >= self.p:
            return inputs if len(inputs) > 1 else inputs[0]
        return _run_all(self.transforms, inputs)

    def extra_repr(self):
        return _format_transforms(self.transforms)


class RandomChoice(Transform):
    """One of the transforms, drawn with probabilities p (default uniform)."""

    def __init__(self, transforms, p=None):
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence of callables")
        if not transforms:
            raise ValueError("Pass at least one transform")
        if p is None:
            p = [1] * len(transforms)
        elif len(p) != len(transforms):
            raise ValueError(f"Length of p doesn't match the number of transforms: {len(p)} != "
                             f"{len(transforms)}")
        super().__init__()
        self.transforms = transforms
        total = sum(p)
        self.p = [prob / total for prob in p]

    def forward(self, *inputs):
        idx = int(multinomial(tensor(self.p), 1))
        return self.transforms[idx](*inputs)


class RandomOrder(Transform):
    """All the transforms, in a random order."""

    def __init__(self, transforms):
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence of callables")
        if not transforms:
            raise ValueError("Pass at least one transform")
        super().__init__()
        self.transforms = transforms

    def forward(self, *inputs):
        order = [self.transforms[int(i)] for i in randperm(len(self.transforms))]
        return _run_all(order, inputs)
