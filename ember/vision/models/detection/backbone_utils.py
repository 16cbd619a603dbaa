"""Backbones for the detectors: a classification network's intermediate layers under a
Feature Pyramid Network."""
import warnings

from .... import nn
from ...ops import misc as misc_nn_ops
from ...ops.feature_pyramid_network import ExtraFPNBlock, FeaturePyramidNetwork, \
    LastLevelMaxPool
from .. import mobilenetv2, mobilenetv3, resnet
from .._api import warn_legacy_pretrained
from .._utils import IntermediateLayerGetter

__all__ = ["BackboneWithFPN", "IntermediateLayerGetter", "mobilenet_backbone",
           "resnet_fpn_backbone"]


class BackboneWithFPN(nn.Module):
    """``body`` (IntermediateLayerGetter of ``backbone``) followed by ``fpn``
    (FeaturePyramidNetwork with LastLevelMaxPool unless ``extra_blocks`` is given);
    ``out_channels`` is the FPN's width, as the detectors expect."""

    def __init__(self, backbone, return_layers, in_channels_list, out_channels,
                 extra_blocks=None, norm_layer=None):
        super().__init__()
        if extra_blocks is None:
            extra_blocks = LastLevelMaxPool()
        self.body = IntermediateLayerGetter(backbone, return_layers=return_layers)
        self.fpn = FeaturePyramidNetwork(in_channels_list=in_channels_list,
                                         out_channels=out_channels, extra_blocks=extra_blocks,
                                         norm_layer=norm_layer)
        self.out_channels = out_channels

    def forward(self, x):
        return self.fpn(self.body(x))


def resnet_fpn_backbone(*, backbone_name, weights, norm_layer=misc_nn_ops.FrozenBatchNorm2d,
                        trainable_layers=3, returned_layers=None, extra_blocks=None, **kwargs):
    """A ResNet (``backbone_name``, e.g. 'resnet50', built with ``weights`` and
    ``norm_layer``) with an FPN over ``returned_layers`` (default 1-4)."""
    if "pretrained" in kwargs:
        pretrained = kwargs.pop("pretrained")
        warn_legacy_pretrained("pretrained", "weights",
                               "ResNet50_Weights.IMAGENET1K_V1" if pretrained else None,
                               "ResNet50_Weights.DEFAULT")
        if pretrained:
            weights = "IMAGENET1K_V1"
    backbone = resnet.__dict__[backbone_name](weights=weights, norm_layer=norm_layer)
    return _resnet_fpn_extractor(backbone, trainable_layers, returned_layers, extra_blocks)


def _resnet_fpn_extractor(backbone, trainable_layers, returned_layers=None, extra_blocks=None,
                          norm_layer=None):
    """Freeze all but the last ``trainable_layers`` stages (of layer4, layer3, layer2,
    layer1, conv1 and bn1) and put an FPN of 256 channels over the returned layers."""
    if trainable_layers < 0 or trainable_layers > 5:
        raise ValueError(f"Trainable layers should be in the range [0,5], got {trainable_layers}")
    layers_to_train = ["layer4", "layer3", "layer2", "layer1", "conv1"][:trainable_layers]
    if trainable_layers == 5:
        layers_to_train.append("bn1")
    for name, parameter in backbone.named_parameters():
        if all(not name.startswith(layer) for layer in layers_to_train):
            parameter.requires_grad_(False)
    if extra_blocks is None:
        extra_blocks = LastLevelMaxPool()
    if returned_layers is None:
        returned_layers = [1, 2, 3, 4]
    if min(returned_layers) <= 0 or max(returned_layers) >= 5:
        raise ValueError(f"Each returned layer should be in the range [1,4]. Got {returned_layers}")
    return_layers = {f"layer{k}": str(v) for v, k in enumerate(returned_layers)}
    in_channels_stage2 = backbone.inplanes // 8
    in_channels_list = [in_channels_stage2 * 2 ** (i - 1) for i in returned_layers]
    return BackboneWithFPN(backbone, return_layers, in_channels_list, 256,
                           extra_blocks=extra_blocks, norm_layer=norm_layer)


def _validate_trainable_layers(is_trained, trainable_backbone_layers, max_value, default_value):
    if not is_trained:
        if trainable_backbone_layers is not None:
            warnings.warn(
                "Changing trainable_backbone_layers has no effect if neither pretrained nor "
                "pretrained_backbone have been set to True, falling back to "
                f"trainable_backbone_layers={max_value} so that all layers are trainable")
        trainable_backbone_layers = max_value
    if trainable_backbone_layers is None:
        trainable_backbone_layers = default_value
    if trainable_backbone_layers < 0 or trainable_backbone_layers > max_value:
        raise ValueError(f"Trainable backbone layers should be in the range [0,{max_value}], "
                         f"got {trainable_backbone_layers} ")
    return trainable_backbone_layers


def mobilenet_backbone(*, backbone_name, weights, fpn, norm_layer=misc_nn_ops.FrozenBatchNorm2d,
                       trainable_layers=2, returned_layers=None, extra_blocks=None):
    """A MobileNet ('mobilenet_v2', 'mobilenet_v3_large', 'mobilenet_v3_small') as a
    detection backbone: with ``fpn`` an FPN over its stages, else its features and a 1x1
    conv to 256 channels."""
    models = {**vars(mobilenetv2), **vars(mobilenetv3)}
    backbone = models[backbone_name](weights=weights, norm_layer=norm_layer)
    return _mobilenet_extractor(backbone, fpn, trainable_layers, returned_layers, extra_blocks)


def _mobilenet_extractor(backbone, fpn, trainable_layers, returned_layers=None,
                         extra_blocks=None, norm_layer=None):
    """MobileNet ``features`` cut into stages: stage k starts at stage_indices[k] (the first
    conv, every strided block, the last layer). All layers before the last
    ``trainable_layers`` stages are frozen. With ``fpn``: a 256-channel FPN over
    ``returned_layers`` (default the last two stages) with LastLevelMaxPool; without it:
    features followed by a 1x1 conv to 256 channels (``out_channels`` = 256)."""
    features = backbone.features
    stage_indices = [0] + [i for i, b in enumerate(features) if getattr(b, "_is_cn", False)] \
        + [len(features) - 1]
    num_stages = len(stage_indices)
    if trainable_layers < 0 or trainable_layers > num_stages:
        raise ValueError(f"Trainable layers should be in the range [0,{num_stages}], got "
                         f"{trainable_layers} ")
    freeze_before = len(features) if trainable_layers == 0 else \
        stage_indices[num_stages - trainable_layers]
    for block in features[:freeze_before]:
        for parameter in block.parameters():
            parameter.requires_grad_(False)
    out_channels = 256
    if not fpn:
        model = nn.Sequential(features, nn.Conv2d(features[-1].out_channels, out_channels, 1))
        model.out_channels = out_channels
        return model
    if extra_blocks is None:
        extra_blocks = LastLevelMaxPool()
    if returned_layers is None:
        returned_layers = [num_stages - 2, num_stages - 1]
    if min(returned_layers) < 0 or max(returned_layers) >= num_stages:
        raise ValueError(f"Each returned layer should be in the range [0,{num_stages - 1}], got "
                         f"{returned_layers} ")
    return_layers = {f"{stage_indices[k]}": str(v) for v, k in enumerate(returned_layers)}
    in_channels_list = [features[stage_indices[i]].out_channels for i in returned_layers]
    return BackboneWithFPN(features, return_layers, in_channels_list, out_channels,
                           extra_blocks=extra_blocks, norm_layer=norm_layer)


__all__ += ["ExtraFPNBlock"]
