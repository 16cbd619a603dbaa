"""torchvision.models.quantization: the quantizable classifiers (ResNet/ResNeXt,
MobileNetV2/V3, GoogLeNet, Inception v3, ShuffleNet V2). Each is its float model with
QuantStub/DeQuantStub at the ends, FloatFunctional skip additions and concatenations and a
``fuse_model(is_qat=None)``; the builders take ``quantize=True`` (post-training
quantization with torchvision's qconfig, or QAT conversion for MobileNetV3), ``weights=``
(quantized or float enums) and ``backend=``."""
from .googlenet import *  # noqa: F401,F403
from .inception import *  # noqa: F401,F403
from .mobilenet import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .shufflenetv2 import *  # noqa: F401,F403

import importlib  # noqa: E402

# the submodules whose builders ember.vision.models registers as "quantized_<name>" (the
# package attribute `googlenet` is the builder function, as torchvision's)
_MODULES = [importlib.import_module(f"{__name__}.{name}")
            for name in ("googlenet", "inception", "mobilenetv2", "mobilenetv3", "resnet",
                         "shufflenetv2")]
del importlib
