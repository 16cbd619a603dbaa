"""Mask R-CNN (He et al. 2017) with torchvision's module names and state_dict keys."""
from collections import OrderedDict

from .... import nn
from ...ops import misc as misc_nn_ops
from ...ops.poolers import MultiScaleRoIAlign
from .._api import load_weights, WeightsEnum
from ..resnet import resnet50, ResNet50_Weights
from ._utils import overwrite_eps
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .faster_rcnn import _coco_weights, _default_anchorgen, _detector_weights, \
    FastRCNNConvFCHead, FasterRCNN, RPNHead

__all__ = ["MaskRCNN", "MaskRCNN_ResNet50_FPN_Weights", "MaskRCNN_ResNet50_FPN_V2_Weights",
           "maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2", "MaskRCNNHeads",
           "MaskRCNNPredictor"]


class MaskRCNN(FasterRCNN):
    """Faster R-CNN plus a mask branch: MultiScaleRoIAlign(14) features of the detections
    (of the positive proposals in training) -> MaskRCNNHeads (4 convs 3x3, 256) ->
    MaskRCNNPredictor (2x transposed conv, per-class 28x28 mask logits). Eval detections
    gain 'masks' (K, 1, H, W) probabilities pasted into the image; training adds
    'loss_mask'. Targets need 'masks' (K, H, W)."""

    def __init__(self, backbone, num_classes=None, *args, mask_roi_pool=None, mask_head=None,
                 mask_predictor=None, **kwargs):
        if not isinstance(mask_roi_pool, (MultiScaleRoIAlign, type(None))):
            raise TypeError(f"mask_roi_pool should be of type MultiScaleRoIAlign or None instead "
                            f"of {type(mask_roi_pool)}")
        if num_classes is not None and mask_predictor is not None:
            raise ValueError("num_classes should be None when mask_predictor is specified")
        out_channels = backbone.out_channels
        if mask_roi_pool is None:
            mask_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"],
                                               output_size=14, sampling_ratio=2)
        if mask_head is None:
            mask_head = MaskRCNNHeads(out_channels, (256, 256, 256, 256), 1)
        if mask_predictor is None:
            mask_predictor = MaskRCNNPredictor(256, 256, num_classes)
        super().__init__(backbone, num_classes, *args, **kwargs)
        self.roi_heads.mask_roi_pool = mask_roi_pool
        self.roi_heads.mask_head = mask_head
        self.roi_heads.mask_predictor = mask_predictor


class MaskRCNNHeads(nn.Sequential):
    """Conv2dNormActivation(3x3, dilation) per entry of ``layers``, kaiming-normal
    (fan_out) init; older checkpoints' mask_fcn{i}.weight keys load too."""
    _version = 2

    def __init__(self, in_channels, layers, dilation, norm_layer=None):
        blocks = []
        previous = in_channels
        for features in layers:
            blocks.append(misc_nn_ops.Conv2dNormActivation(
                previous, features, kernel_size=3, stride=1, padding=dilation,
                dilation=dilation, norm_layer=norm_layer))
            previous = features
        super().__init__(*blocks)
        for layer in self.modules():
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)
        self._register_load_state_dict_pre_hook(self._rename_legacy_keys)

    def _rename_legacy_keys(self, state_dict, prefix, local_metadata, strict, missing_keys,
                            unexpected_keys, error_msgs):
        for i in range(len(self)):
            for kind in ("weight", "bias"):
                old = f"{prefix}mask_fcn{i + 1}.{kind}"
                if old in state_dict:
                    state_dict[f"{prefix}{i}.0.{kind}"] = state_dict.pop(old)


class MaskRCNNPredictor(nn.Sequential):
    """conv5_mask (ConvTranspose2d 2x2 stride 2) -> ReLU -> mask_fcn_logits (1x1 conv to
    one mask per class); weights kaiming-normal (fan_out)."""

    def __init__(self, in_channels, dim_reduced, num_classes):
        super().__init__(OrderedDict([
            ("conv5_mask", nn.ConvTranspose2d(in_channels, dim_reduced, 2, 2, 0)),
            ("relu", nn.ReLU(inplace=True)),
            ("mask_fcn_logits", nn.Conv2d(dim_reduced, num_classes, 1, 1, 0)),
        ]))
        for name, param in self.named_parameters():
            if "weight" in name:
                nn.init.kaiming_normal_(param, mode="fan_out", nonlinearity="relu")


class MaskRCNN_ResNet50_FPN_Weights(WeightsEnum):
    COCO_V1 = _coco_weights(
        "https://download.pytorch.org/models/maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth",
        44401393, {"box_map": 37.9, "mask_map": 34.6},
        recipe="https://github.com/pytorch/vision/tree/main/references/detection#mask-r-cnn",
        _ops=134.38, _file_size=169.84)
    DEFAULT = COCO_V1


class MaskRCNN_ResNet50_FPN_V2_Weights(WeightsEnum):
    COCO_V1 = _coco_weights(
        "https://download.pytorch.org/models/maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth",
        46359409, {"box_map": 47.4, "mask_map": 41.8},
        recipe="https://github.com/pytorch/vision/pull/5773",
        _ops=333.577, _file_size=177.219)
    DEFAULT = COCO_V1


def maskrcnn_resnet50_fpn(*, weights=None, progress=True, num_classes=None,
                          weights_backbone=ResNet50_Weights.IMAGENET1K_V1,
                          trainable_backbone_layers=None, **kwargs):
    """Mask R-CNN with a ResNet-50-FPN backbone (see fasterrcnn_resnet50_fpn)."""
    weights, weights_backbone, num_classes = _detector_weights(
        MaskRCNN_ResNet50_FPN_Weights, weights, weights_backbone, num_classes, kwargs)
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers,
                                                           5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    backbone = _resnet_fpn_extractor(backbone, trainable_backbone_layers)
    model = MaskRCNN(backbone, num_classes=num_classes, **kwargs)
    if weights is not None:
        load_weights(model, weights, progress)
        if weights == MaskRCNN_ResNet50_FPN_Weights.COCO_V1:
            overwrite_eps(model, 0.0)
    return model


def maskrcnn_resnet50_fpn_v2(*, weights=None, progress=True, num_classes=None,
                             weights_backbone=None, trainable_backbone_layers=None, **kwargs):
    """Mask R-CNN v2: BatchNorm in the FPN and heads, 2-conv RPN head, 4-conv box head."""
    weights, weights_backbone, num_classes = _detector_weights(
        MaskRCNN_ResNet50_FPN_V2_Weights, weights, weights_backbone, num_classes, kwargs)
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers,
                                                           5, 3)
    backbone = resnet50(weights=weights_backbone, progress=progress)
    backbone = _resnet_fpn_extractor(backbone, trainable_backbone_layers,
                                     norm_layer=nn.BatchNorm2d)
    anchors = _default_anchorgen()
    rpn_head = RPNHead(backbone.out_channels, anchors.num_anchors_per_location()[0],
                       conv_depth=2)
    box_head = FastRCNNConvFCHead((backbone.out_channels, 7, 7), [256, 256, 256, 256], [1024],
                                  norm_layer=nn.BatchNorm2d)
    mask_head = MaskRCNNHeads(backbone.out_channels, [256, 256, 256, 256], 1,
                              norm_layer=nn.BatchNorm2d)
    model = MaskRCNN(backbone, num_classes=num_classes, rpn_anchor_generator=anchors,
                     rpn_head=rpn_head, box_head=box_head, mask_head=mask_head, **kwargs)
    return load_weights(model, weights, progress)
