"""FCN (Long et al. 2015, "Fully Convolutional Networks for Semantic Segmentation") on a
dilated ResNet, with torchvision's module names and state_dict keys."""
from .... import nn
from .._api import load_weights, WeightsEnum
from .._utils import IntermediateLayerGetter
from ..resnet import resnet101, ResNet101_Weights, resnet50, ResNet50_Weights
from ._utils import _segmentation_weights, _SimpleSegmentationModel, _voc_weights

__all__ = ["FCN", "FCN_ResNet50_Weights", "FCN_ResNet101_Weights", "fcn_resnet50",
           "fcn_resnet101"]


class FCN(_SimpleSegmentationModel):
    """FCN: ``backbone`` returns {'out'[, 'aux']} feature maps, ``classifier`` (and
    ``aux_classifier``) turn them into per-class logits, upsampled to the input size."""


class FCNHead(nn.Sequential):
    """3x3 conv to in_channels/4 (no bias) -> BatchNorm -> ReLU -> Dropout(0.1) -> 1x1
    conv to ``channels`` logits."""

    def __init__(self, in_channels, channels):
        inter_channels = in_channels // 4
        super().__init__(
            nn.Conv2d(in_channels, inter_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(inter_channels),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Conv2d(inter_channels, channels, 1),
        )


class FCN_ResNet50_Weights(WeightsEnum):
    COCO_WITH_VOC_LABELS_V1 = _voc_weights(
        "https://download.pytorch.org/models/fcn_resnet50_coco-1167a1af.pth", 35322218,
        60.5, 91.4,
        recipe="https://github.com/pytorch/vision/tree/main/references/segmentation#fcn_resnet50",
        _ops=152.717, _file_size=135.009)
    DEFAULT = COCO_WITH_VOC_LABELS_V1


class FCN_ResNet101_Weights(WeightsEnum):
    COCO_WITH_VOC_LABELS_V1 = _voc_weights(
        "https://download.pytorch.org/models/fcn_resnet101_coco-7ecb50ca.pth", 54314346,
        63.7, 91.9,
        recipe=("https://github.com/pytorch/vision/tree/main/references/segmentation"
                "#deeplabv3_resnet101"),
        _ops=232.738, _file_size=207.711)
    DEFAULT = COCO_WITH_VOC_LABELS_V1


def _fcn_resnet(backbone, num_classes, aux):
    """layer4 (2048 channels, stride 8 with the dilated ResNet) -> FCNHead; with ``aux``
    also layer3 (1024 channels) -> FCNHead."""
    return_layers = {"layer4": "out"}
    if aux:
        return_layers["layer3"] = "aux"
    backbone = IntermediateLayerGetter(backbone, return_layers=return_layers)
    aux_classifier = FCNHead(1024, num_classes) if aux else None
    return FCN(backbone, FCNHead(2048, num_classes), aux_classifier)


def _build(resnet_fn, weights_enum, backbone_enum, weights, progress, num_classes, aux_loss,
           weights_backbone, kwargs):
    weights, weights_backbone, num_classes, aux_loss = _segmentation_weights(
        weights_enum, backbone_enum, weights, weights_backbone, num_classes, aux_loss, kwargs)
    # (torchvision ignores the other keyword arguments here too)
    backbone = resnet_fn(weights=weights_backbone, replace_stride_with_dilation=[False, True, True])
    model = _fcn_resnet(backbone, num_classes, aux_loss)
    return load_weights(model, weights, progress)


def fcn_resnet50(*, weights=None, progress=True, num_classes=None, aux_loss=None,
                 weights_backbone=ResNet50_Weights.IMAGENET1K_V1, **kwargs):
    """FCN on a ResNet-50 whose last two stages are dilated (output stride 8).
    ``num_classes`` defaults to 21 (VOC); ``aux_loss`` adds the layer3 head;
    ``weights``: FCN_ResNet50_Weights (fixes num_classes=21, aux_loss=True)."""
    return _build(resnet50, FCN_ResNet50_Weights, ResNet50_Weights, weights, progress,
                  num_classes, aux_loss, weights_backbone, kwargs)


def fcn_resnet101(*, weights=None, progress=True, num_classes=None, aux_loss=None,
                  weights_backbone=ResNet101_Weights.IMAGENET1K_V1, **kwargs):
    """FCN on a dilated ResNet-101 (see fcn_resnet50)."""
    return _build(resnet101, FCN_ResNet101_Weights, ResNet101_Weights, weights, progress,
                  num_classes, aux_loss, weights_backbone, kwargs)
