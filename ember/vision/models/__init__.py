"""torchvision.models: architectures with torchvision's names, signatures and state_dict
keys, so torchvision weight files load into them."""
import importlib

from . import _api
from ._api import Weights, WeightsEnum
from .alexnet import *  # noqa: F401,F403
from .convnext import *  # noqa: F401,F403
from .densenet import *  # noqa: F401,F403
from .efficientnet import *  # noqa: F401,F403
from .googlenet import *  # noqa: F401,F403
from .inception import *  # noqa: F401,F403
from .maxvit import *  # noqa: F401,F403
from .mnasnet import *  # noqa: F401,F403
from .mobilenetv2 import *  # noqa: F401,F403
from .mobilenetv3 import *  # noqa: F401,F403
from .regnet import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .shufflenetv2 import *  # noqa: F401,F403
from .squeezenet import *  # noqa: F401,F403
from .swin_transformer import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
from .vision_transformer import *  # noqa: F401,F403
from . import detection  # noqa: E402,F401  (torchvision.models.detection)
from . import segmentation  # noqa: E402,F401  (torchvision.models.segmentation)
from . import quantization  # noqa: E402,F401  (torchvision.models.quantization)

# the submodules themselves (the package attribute `alexnet` is the builder function)
_MODULES = [importlib.import_module(f"{__name__}.{name}")
            for name in ("alexnet", "convnext", "densenet", "efficientnet", "googlenet",
                         "inception", "maxvit", "mnasnet", "mobilenetv2", "mobilenetv3",
                         "regnet", "resnet", "shufflenetv2", "squeezenet", "swin_transformer",
                         "vgg", "vision_transformer")]

_BUILDERS = {}
for _mod in _MODULES + [detection, segmentation]:
    for _name in _mod.__all__:
        _obj = getattr(_mod, _name)
        if callable(_obj) and _name.islower():
            _BUILDERS[_name] = _obj
# the quantizable builders are registered as torchvision registers them: "quantized_<name>"
for _mod in quantization._MODULES:
    for _name in _mod.__all__:
        _obj = getattr(_mod, _name)
        if callable(_obj) and _name.islower():
            _BUILDERS["quantized_" + _name] = _obj
# the loop's names would show in the namespace programs scan for builders (imagenet/main.py:
# name.islower() and not name.startswith("__") and callable)
del _mod, _name, _obj


def list_models(module=None, include=None, exclude=None):
    """The names of the model builders (sorted), as torchvision's: those of one package
    (``module``: ``models`` for classification, ``models.detection``,
    ``models.segmentation``) or all; ``include``/``exclude``: fnmatch patterns (one or
    several), the union of the included ones less any excluded."""
    import fnmatch
    names = {name for name, builder in _BUILDERS.items()
             if module is None or builder.__module__.rsplit(".", 1)[0] == module.__name__}
    if include:
        patterns = [include] if isinstance(include, str) else include
        chosen = set()
        for pattern in patterns:
            chosen |= set(fnmatch.filter(names, pattern))
    else:
        chosen = names
    if exclude:
        for pattern in [exclude] if isinstance(exclude, str) else exclude:
            chosen -= set(fnmatch.filter(names, pattern))
    return sorted(chosen)


def get_model_builder(name):
    name = name.lower()
    if name not in _BUILDERS:
        raise ValueError(f"Unknown model {name}")
    return _BUILDERS[name]


def get_model(name, **config):
    """Build a model by name: ``get_model("resnet18", weights=None, num_classes=2)``."""
    return get_model_builder(name)(**config)


def get_model_weights(name):
    """The weights enum of a builder (or builder name)."""
    builder = get_model_builder(name) if isinstance(name, str) else name
    module = __import__(builder.__module__, fromlist=["__all__"])
    # (a quantizable builder's: the quantized enum, the first of its `weights` annotation
    # that torchvision reads)
    suffix = "_quantizedweights" if module.__name__.startswith(quantization.__name__ + ".") \
        else "_weights"
    for attr in module.__all__:
        enum_cls = getattr(module, attr)
        # exact: with the underscores dropped regnet_y_16gf would find RegNet_Y_1_6GF's
        if isinstance(enum_cls, type) and issubclass(enum_cls, WeightsEnum) and \
                attr.lower() == builder.__name__ + suffix:
            return enum_cls
    raise ValueError(f"No weights enum for {builder.__name__}")


def get_weight(name):
    """A weights member from its full name, e.g. "ResNet50_Weights.IMAGENET1K_V2"."""
    enum_name, _, member = name.partition(".")
    # the files of every builder (classification, detection, segmentation)
    for mod in dict.fromkeys(importlib.import_module(b.__module__) for b in _BUILDERS.values()):
        if enum_name in mod.__all__:
            return getattr(mod, enum_name).verify(member)
    raise ValueError(f"Unknown weights enum {enum_name}")
