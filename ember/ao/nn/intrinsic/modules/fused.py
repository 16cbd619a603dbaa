"""Fused modules (torch.ao.nn.intrinsic): a Sequential of modules that quantization treats
as one layer (one observer at the end, one quantized kernel after conversion):
Conv+ReLU, Conv+BatchNorm(+ReLU), Linear+ReLU, Linear+BatchNorm, BatchNorm+ReLU, ...
In float they compute exactly what their parts compute in sequence."""
from ember import nn
from ember.nn.utils.parametrize import type_before_parametrizations

__all__ = ["ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "LinearReLU", "ConvBn1d", "ConvBn2d",
           "ConvBnReLU1d", "ConvBnReLU2d", "ConvBn3d", "ConvBnReLU3d", "BNReLU2d", "BNReLU3d",
           "LinearBn1d", "LinearLeakyReLU", "LinearTanh", "ConvAdd2d", "ConvAddReLU2d"]


class _FusedModule(nn.Sequential):
    """Base of the fused modules (prepare/convert treat a _FusedModule as a leaf)."""


def _fused(name, part_names, part_types, exact=False):
    """A fused module class whose __init__ takes the parts (named part_names) and checks
    each part's type (the type before parametrizations, or the exact type)."""
    def __init__(self, *parts):
        type_of = type if exact else type_before_parametrizations
        if len(parts) != len(part_types) or not all(
                type_of(p) is t for p, t in zip(parts, part_types)):
            names = [type_of(p).__name__ for p in parts]
            listed = (" and ".join(names) if len(names) == 2
                      else ", ".join(names[:-1]) + ", and " + names[-1])
            raise AssertionError(f"Incorrect types for input modules: {listed}")
        _FusedModule.__init__(self, *parts)

    __init__.__doc__ = f"{name}({', '.join(part_names)})"
    doc = (f"{' + '.join(t.__name__ for t in part_types)} fused: the parts applied in "
           f"sequence.")
    return type(name, (_FusedModule,), {"__init__": __init__, "__doc__": doc,
                                         "__module__": __name__})


ConvReLU1d = _fused("ConvReLU1d", ("conv", "relu"), (nn.Conv1d, nn.ReLU))
ConvReLU2d = _fused("ConvReLU2d", ("conv", "relu"), (nn.Conv2d, nn.ReLU))
ConvReLU3d = _fused("ConvReLU3d", ("conv", "relu"), (nn.Conv3d, nn.ReLU))
LinearReLU = _fused("LinearReLU", ("linear", "relu"), (nn.Linear, nn.ReLU))
ConvBn1d = _fused("ConvBn1d", ("conv", "bn"), (nn.Conv1d, nn.BatchNorm1d))
ConvBn2d = _fused("ConvBn2d", ("conv", "bn"), (nn.Conv2d, nn.BatchNorm2d))
ConvBn3d = _fused("ConvBn3d", ("conv", "bn"), (nn.Conv3d, nn.BatchNorm3d))
ConvBnReLU1d = _fused("ConvBnReLU1d", ("conv", "bn", "relu"),
                      (nn.Conv1d, nn.BatchNorm1d, nn.ReLU))
ConvBnReLU2d = _fused("ConvBnReLU2d", ("conv", "bn", "relu"),
                      (nn.Conv2d, nn.BatchNorm2d, nn.ReLU))
ConvBnReLU3d = _fused("ConvBnReLU3d", ("conv", "bn", "relu"),
                      (nn.Conv3d, nn.BatchNorm3d, nn.ReLU))
BNReLU2d = _fused("BNReLU2d", ("batch_norm", "relu"), (nn.BatchNorm2d, nn.ReLU))
BNReLU3d = _fused("BNReLU3d", ("batch_norm", "relu"), (nn.BatchNorm3d, nn.ReLU))
LinearBn1d = _fused("LinearBn1d", ("linear", "bn"), (nn.Linear, nn.BatchNorm1d))
LinearLeakyReLU = _fused("LinearLeakyReLU", ("linear", "leaky_relu"),
                         (nn.Linear, nn.LeakyReLU), exact=True)
LinearTanh = _fused("LinearTanh", ("linear", "tanh"), (nn.Linear, nn.Tanh), exact=True)


class ConvAdd2d(_FusedModule):
    """conv(x1) + x2 (the add given as a callable)."""

    def __init__(self, conv, add):
        super().__init__(conv)
        self.add = add

    def forward(self, x1, x2):
        return self.add(self[0](x1), x2)


class ConvAddReLU2d(_FusedModule):
    """relu(conv(x1) + x2)."""

    def __init__(self, conv, add, relu):
        super().__init__(conv)
        self.add = add
        self.relu = relu

    def forward(self, x1, x2):
        return self.relu(self.add(self[0](x1), x2))
