"""DeepLabV3 (Chen et al. 2017, "Rethinking Atrous Convolution for Semantic Image
Segmentation") on dilated ResNets and MobileNetV3-Large, with torchvision's module names
and state_dict keys."""
from .... import cat, nn
from ....nn import functional as F
from .._api import load_weights, WeightsEnum
from .._utils import IntermediateLayerGetter
from ..mobilenetv3 import mobilenet_v3_large, MobileNet_V3_Large_Weights
from ..resnet import resnet101, ResNet101_Weights, resnet50, ResNet50_Weights
from ._utils import _segmentation_weights, _SimpleSegmentationModel, _voc_weights
from .fcn import FCNHead

__all__ = ["DeepLabV3", "DeepLabV3_ResNet50_Weights", "DeepLabV3_ResNet101_Weights",
           "DeepLabV3_MobileNet_V3_Large_Weights", "deeplabv3_mobilenet_v3_large",
           "deeplabv3_resnet50", "deeplabv3_resnet101"]


class DeepLabV3(_SimpleSegmentationModel):
    """DeepLabV3: ``backbone`` returns {'out'[, 'aux']}, ``classifier`` is a DeepLabHead
    (``aux_classifier`` an FCNHead); logits upsampled to the input size."""


class DeepLabHead(nn.Sequential):
    """ASPP(in_channels) -> 3x3 conv 256 (no bias) -> BatchNorm -> ReLU -> 1x1 conv to
    ``num_classes`` logits."""

    def __init__(self, in_channels, num_classes, atrous_rates=(12, 24, 36)):
        super().__init__(
            ASPP(in_channels, atrous_rates),
            nn.Conv2d(256, 256, 3, padding=1, bias=False),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            nn.Conv2d(256, num_classes, 1),
        )


class ASPPConv(nn.Sequential):
    """3x3 conv with dilation (and padding) ``dilation``, no bias -> BatchNorm -> ReLU."""

    def __init__(self, in_channels, out_channels, dilation):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation,
                      bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )


class ASPPPooling(nn.Sequential):
    """Image-level features: global average pool -> 1x1 conv -> BatchNorm -> ReLU, then
    broadcast back to the input's size (bilinear upsampling of a 1x1 map)."""

    def __init__(self, in_channels, out_channels):
        super().__init__(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )

    def forward(self, x):
        size = x.shape[-2:]
        for module in self:
            x = module(x)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """Atrous Spatial Pyramid Pooling: parallel branches (a 1x1 conv, one ASPPConv per
    atrous rate, ASPPPooling), concatenated on channels, then ``project``: 1x1 conv to
    ``out_channels`` -> BatchNorm -> ReLU -> Dropout(0.5)."""

    def __init__(self, in_channels, atrous_rates, out_channels=256):
        super().__init__()
        branches = [nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                  nn.BatchNorm2d(out_channels), nn.ReLU())]
        for rate in tuple(atrous_rates):
            branches.append(ASPPConv(in_channels, out_channels, rate))
        branches.append(ASPPPooling(in_channels, out_channels))
        self.convs = nn.ModuleList(branches)
        self.project = nn.Sequential(
            nn.Conv2d(len(self.convs) * out_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Dropout(0.5),
        )

    def forward(self, x):
        return self.project(cat([conv(x) for conv in self.convs], dim=1))


class DeepLabV3_ResNet50_Weights(WeightsEnum):
    COCO_WITH_VOC_LABELS_V1 = _voc_weights(
        "https://download.pytorch.org/models/deeplabv3_resnet50_coco-cd0a2569.pth", 42004074,
        66.4, 92.4,
        recipe=("https://github.com/pytorch/vision/tree/main/references/segmentation"
                "#deeplabv3_resnet50"),
        _ops=178.722, _file_size=160.515)
    DEFAULT = COCO_WITH_VOC_LABELS_V1


class DeepLabV3_ResNet101_Weights(WeightsEnum):
    COCO_WITH_VOC_LABELS_V1 = _voc_weights(
        "https://download.pytorch.org/models/deeplabv3_resnet101_coco-586e9e4e.pth", 60996202,
        67.4, 92.4,
        recipe="https://github.com/pytorch/vision/tree/main/references/segmentation#fcn_resnet101",
        _ops=258.743, _file_size=233.217)
    DEFAULT = COCO_WITH_VOC_LABELS_V1


class DeepLabV3_MobileNet_V3_Large_Weights(WeightsEnum):
    COCO_WITH_VOC_LABELS_V1 = _voc_weights(
        "https://download.pytorch.org/models/deeplabv3_mobilenet_v3_large-fc3c493d.pth",
        11029328, 60.3, 91.2,
        recipe=("https://github.com/pytorch/vision/tree/main/references/segmentation"
                "#deeplabv3_mobilenet_v3_large"),
        _ops=10.452, _file_size=42.301)
    DEFAULT = COCO_WITH_VOC_LABELS_V1


def _deeplabv3_resnet(backbone, num_classes, aux):
    return_layers = {"layer4": "out"}
    if aux:
        return_layers["layer3"] = "aux"
    backbone = IntermediateLayerGetter(backbone, return_layers=return_layers)
    aux_classifier = FCNHead(1024, num_classes) if aux else None
    return DeepLabV3(backbone, DeepLabHead(2048, num_classes), aux_classifier)


def _mobilenet_stage_indices(features):
    """Indices in MobileNetV3's ``features`` of the first conv, of every strided block
    (the start of each stage C1 ... Cn-1) and of the last layer (Cn)."""
    strided = [i for i, block in enumerate(features) if getattr(block, "_is_cn", False)]
    return [0] + strided + [len(features) - 1]


def _deeplabv3_mobilenetv3(backbone, num_classes, aux):
    """The last layer (output stride 16 in the dilated MobileNetV3) -> DeepLabHead; with
    ``aux`` the C2 stage (output stride 8) -> FCNHead."""
    features = backbone.features
    stage_indices = _mobilenet_stage_indices(features)
    out_pos, aux_pos = stage_indices[-1], stage_indices[-4]
    return_layers = {str(out_pos): "out"}
    if aux:
        return_layers[str(aux_pos)] = "aux"
    aux_classifier = FCNHead(features[aux_pos].out_channels, num_classes) if aux else None
    classifier = DeepLabHead(features[out_pos].out_channels, num_classes)
    body = IntermediateLayerGetter(features, return_layers=return_layers)
    return DeepLabV3(body, classifier, aux_classifier)


def _build_resnet(resnet_fn, weights_enum, backbone_enum, weights, progress, num_classes,
                  aux_loss, weights_backbone, kwargs):
    weights, weights_backbone, num_classes, aux_loss = _segmentation_weights(
        weights_enum, backbone_enum, weights, weights_backbone, num_classes, aux_loss, kwargs)
    backbone = resnet_fn(weights=weights_backbone, replace_stride_with_dilation=[False, True, True])
    model = _deeplabv3_resnet(backbone, num_classes, aux_loss)
    return load_weights(model, weights, progress)


def deeplabv3_resnet50(*, weights=None, progress=True, num_classes=None, aux_loss=None,
                       weights_backbone=ResNet50_Weights.IMAGENET1K_V1, **kwargs):
    """DeepLabV3 on a ResNet-50 with dilated layer3/layer4 (output stride 8); rates
    12/24/36. ``num_classes`` defaults to 21 (VOC); ``aux_loss`` adds an FCNHead on layer3."""
    return _build_resnet(resnet50, DeepLabV3_ResNet50_Weights, ResNet50_Weights, weights,
                         progress, num_classes, aux_loss, weights_backbone, kwargs)


def deeplabv3_resnet101(*, weights=None, progress=True, num_classes=None, aux_loss=None,
                        weights_backbone=ResNet101_Weights.IMAGENET1K_V1, **kwargs):
    """DeepLabV3 on a dilated ResNet-101 (see deeplabv3_resnet50)."""
    return _build_resnet(resnet101, DeepLabV3_ResNet101_Weights, ResNet101_Weights, weights,
                         progress, num_classes, aux_loss, weights_backbone, kwargs)


def deeplabv3_mobilenet_v3_large(*, weights=None, progress=True, num_classes=None,
                                 aux_loss=None,
                                 weights_backbone=MobileNet_V3_Large_Weights.IMAGENET1K_V1,
                                 **kwargs):
    """DeepLabV3 on MobileNetV3-Large with a dilated last stage (output stride 16)."""
    weights, weights_backbone, num_classes, aux_loss = _segmentation_weights(
        DeepLabV3_MobileNet_V3_Large_Weights, MobileNet_V3_Large_Weights, weights,
        weights_backbone, num_classes, aux_loss, kwargs)
    backbone = mobilenet_v3_large(weights=weights_backbone, dilated=True)
    model = _deeplabv3_mobilenetv3(backbone, num_classes, aux_loss)
    return load_weights(model, weights, progress)
