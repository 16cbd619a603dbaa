"""Lite R-ASPP (Howard et al. 2019, "Searching for MobileNetV3") on MobileNetV3-Large,
with torchvision's module names and state_dict keys."""
from collections import OrderedDict

from .... import nn
from ....nn import functional as F
from .._api import load_weights, WeightsEnum
from .._utils import IntermediateLayerGetter
from ..mobilenetv3 import mobilenet_v3_large, MobileNet_V3_Large_Weights
from ._utils import _segmentation_weights, _voc_weights
from .deeplabv3 import _mobilenet_stage_indices

__all__ = ["LRASPP", "LRASPP_MobileNet_V3_Large_Weights", "lraspp_mobilenet_v3_large"]


class LRASPP(nn.Module):
    """``backbone`` returns {'low', 'high'} feature maps; an LRASPPHead combines them into
    logits, upsampled bilinearly to the input size. forward -> OrderedDict {'out': ...}
    (no auxiliary output)."""

    def __init__(self, backbone, low_channels, high_channels, num_classes, inter_channels=128):
        super().__init__()
        self.backbone = backbone
        self.classifier = LRASPPHead(low_channels, high_channels, num_classes, inter_channels)

    def forward(self, input):
        out = self.classifier(self.backbone(input))
        result = OrderedDict()
        result["out"] = F.interpolate(out, size=input.shape[-2:], mode="bilinear",
                                      align_corners=False)
        return result


class LRASPPHead(nn.Module):
    r"""With h the high-level and l the low-level features:

    .. math:: \text{out} = \text{low\_classifier}(l) + \text{high\_classifier}(
              \text{up}(\text{cbr}(h) \cdot \sigma(\text{conv}(\text{avgpool}(h)))))

    where cbr is 1x1 conv -> BatchNorm -> ReLU, the gate (``scale``) a global average pool
    -> 1x1 conv -> sigmoid, and up a bilinear resize to l's size."""

    def __init__(self, low_channels, high_channels, num_classes, inter_channels):
        super().__init__()
        self.cbr = nn.Sequential(
            nn.Conv2d(high_channels, inter_channels, 1, bias=False),
            nn.BatchNorm2d(inter_channels),
            nn.ReLU(inplace=True),
        )
        self.scale = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(high_channels, inter_channels, 1, bias=False),
            nn.Sigmoid(),
        )
        self.low_classifier = nn.Conv2d(low_channels, num_classes, 1)
        self.high_classifier = nn.Conv2d(inter_channels, num_classes, 1)

    def forward(self, input):
        low, high = input["low"], input["high"]
        x = self.cbr(high) * self.scale(high)
        x = F.interpolate(x, size=low.shape[-2:], mode="bilinear", align_corners=False)
        return self.low_classifier(low) + self.high_classifier(x)


class LRASPP_MobileNet_V3_Large_Weights(WeightsEnum):
    COCO_WITH_VOC_LABELS_V1 = _voc_weights(
        "https://download.pytorch.org/models/lraspp_mobilenet_v3_large-d234d4ea.pth", 3221538,
        57.9, 91.2,
        recipe=("https://github.com/pytorch/vision/tree/main/references/segmentation"
                "#lraspp_mobilenet_v3_large"),
        _ops=2.086, _file_size=12.49)
    DEFAULT = COCO_WITH_VOC_LABELS_V1


def _lraspp_mobilenetv3(backbone, num_classes):
    """C2 (output stride 8) is 'low', the last layer (output stride 16) 'high'."""
    features = backbone.features
    stage_indices = _mobilenet_stage_indices(features)
    low_pos, high_pos = stage_indices[-4], stage_indices[-1]
    low_channels = features[low_pos].out_channels
    high_channels = features[high_pos].out_channels
    body = IntermediateLayerGetter(features, return_layers={str(low_pos): "low",
                                                            str(high_pos): "high"})
    return LRASPP(body, low_channels, high_channels, num_classes)


def lraspp_mobilenet_v3_large(*, weights=None, progress=True, num_classes=None,
                              weights_backbone=MobileNet_V3_Large_Weights.IMAGENET1K_V1,
                              **kwargs):
    """Lite R-ASPP on a MobileNetV3-Large with a dilated last stage; ``num_classes``
    defaults to 21 (VOC). It has no auxiliary head: aux_loss=True raises
    NotImplementedError, as in torchvision."""
    if kwargs.pop("aux_loss", False):
        raise NotImplementedError("This model does not use auxiliary loss")
    weights, weights_backbone, num_classes, _ = _segmentation_weights(
        LRASPP_MobileNet_V3_Large_Weights, MobileNet_V3_Large_Weights, weights,
        weights_backbone, num_classes, None, kwargs, has_aux=False)
    backbone = mobilenet_v3_large(weights=weights_backbone, dilated=True)
    model = _lraspp_mobilenetv3(backbone, num_classes)
    return load_weights(model, weights, progress)
