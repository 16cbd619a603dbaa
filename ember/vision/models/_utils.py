"""Helpers shared by the model families (torchvision.models._utils)."""
from collections import OrderedDict

from ... import nn

__all__ = ["IntermediateLayerGetter", "overwrite_value_param"]


class IntermediateLayerGetter(nn.ModuleDict):
    """The children of ``model`` up to the last one named in ``return_layers``, run in
    order; forward returns an OrderedDict {return_layers[name]: output of child name}.

    Only direct children can be returned, and they must be called in registration order
    (as ResNet's and MobileNet's ``features`` are): the wrapper replays them one after the
    other instead of running ``model.forward``.
    """

    def __init__(self, model, return_layers):
        if not set(return_layers).issubset([name for name, _ in model.named_children()]):
            raise ValueError("return_layers are not present in model")
        orig_return_layers = return_layers
        wanted = {str(k): str(v) for k, v in return_layers.items()}
        layers = OrderedDict()
        for name, module in model.named_children():
            layers[name] = module
            wanted.pop(name, None)
            if not wanted:     # nothing after the last returned layer is kept
                break
        super().__init__(layers)
        self.return_layers = orig_return_layers

    def forward(self, x):
        out = OrderedDict()
        for name, module in self.items():
            x = module(x)
            if name in self.return_layers:
                out[self.return_layers[name]] = x
        return out


def overwrite_value_param(param, actual, expected):
    """``expected`` (the value pretrained weights fix), after checking that the user's
    ``actual`` value, when given, agrees with it."""
    if actual is not None and actual != expected:
        raise ValueError(f"The parameter '{param}' expected value {expected} but got {actual} "
                         f"instead.")
    return expected
