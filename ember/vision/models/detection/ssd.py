"""SSD (Liu et al. 2016, "SSD: Single Shot MultiBox Detector") on VGG-16, with
torchvision's module names, state_dict keys and weights."""
import warnings
from collections import OrderedDict

from .... import cat, full, full_like, int64, nn, ones, stack, where, zeros
from ....nn import functional as F
from ...ops import boxes as box_ops
from .._api import load_weights, WeightsEnum
from ..vgg import vgg16, VGG16_Weights
from . import _utils as det_utils
from .anchor_utils import DefaultBoxGenerator
from .backbone_utils import _validate_trainable_layers
from .faster_rcnn import _coco_weights, _detector_weights
from .generalized_rcnn import _merged_detections, _single_stage_inputs
from .transform import GeneralizedRCNNTransform

__all__ = ["SSD300_VGG16_Weights", "ssd300_vgg16", "SSD", "SSDHead", "SSDClassificationHead",
           "SSDRegressionHead", "SSDFeatureExtractorVGG"]


def _xavier_init(conv):
    for layer in conv.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.constant_(layer.bias, 0.0)


class SSDHead(nn.Module):
    """One 3x3 conv per feature map for the class logits and one for the box deltas.
    forward(list of maps) -> {'bbox_regression': (N, sum HWA, 4), 'cls_logits':
    (N, sum HWA, num_classes)}."""

    def __init__(self, in_channels, num_anchors, num_classes):
        super().__init__()
        self.classification_head = SSDClassificationHead(in_channels, num_anchors, num_classes)
        self.regression_head = SSDRegressionHead(in_channels, num_anchors)

    def forward(self, x):
        return {"bbox_regression": self.regression_head(x),
                "cls_logits": self.classification_head(x)}


class SSDScoringHead(nn.Module):
    """Module i of ``module_list`` on feature map i, outputs flattened to
    (N, H * W * A, num_columns) and concatenated over the maps."""

    def __init__(self, module_list, num_columns):
        super().__init__()
        self.module_list = module_list
        self.num_columns = num_columns

    def _get_result_from_module_list(self, x, idx):
        if idx < 0:
            idx += len(self.module_list)
        return self.module_list[idx](x)

    def forward(self, x):
        results = []
        for i, features in enumerate(x):
            out = self._get_result_from_module_list(features, i)
            N, _, H, W = out.shape
            out = out.view(N, -1, self.num_columns, H, W).permute(0, 3, 4, 1, 2)
            results.append(out.reshape(N, -1, self.num_columns))
        return cat(results, dim=1)


class SSDClassificationHead(SSDScoringHead):
    def __init__(self, in_channels, num_anchors, num_classes):
        cls_logits = nn.ModuleList([nn.Conv2d(c, num_classes * a, kernel_size=3, padding=1)
                                    for c, a in zip(in_channels, num_anchors)])
        _xavier_init(cls_logits)
        super().__init__(cls_logits, num_classes)


class SSDRegressionHead(SSDScoringHead):
    def __init__(self, in_channels, num_anchors):
        bbox_reg = nn.ModuleList([nn.Conv2d(c, 4 * a, kernel_size=3, padding=1)
                                  for c, a in zip(in_channels, num_anchors)])
        _xavier_init(bbox_reg)
        super().__init__(bbox_reg, 4)


class SSD(nn.Module):
    """SSD: images resized to the fixed ``size`` (w, h) -> backbone (feature maps, with
    ``out_channels`` or probed by retrieve_out_channels) -> SSDHead, default boxes from
    ``anchor_generator``.

    Training losses: anchors matched by SSDMatcher(``iou_thresh``); 'bbox_regression' is
    the smooth L1 (beta 1) of the foreground deltas (BoxCoder 10, 10, 5, 5), 'classification'
    the cross-entropy of the foreground plus the hardest negatives (hard negative mining:
    ``(1 - positive_fraction) / positive_fraction`` negatives per positive in each image),
    both divided by the number of foreground anchors. Eval: softmax scores, per class the
    ``topk_candidates`` best above ``score_thresh``, per-class NMS (``nms_thresh``), the
    ``detections_per_img`` best."""

    def __init__(self, backbone, anchor_generator, size, num_classes, image_mean=None,
                 image_std=None, head=None, score_thresh=0.01, nms_thresh=0.45,
                 detections_per_img=200, iou_thresh=0.5, topk_candidates=400,
                 positive_fraction=0.25, **kwargs):
        super().__init__()
        self.backbone = backbone
        self.anchor_generator = anchor_generator
        self.box_coder = det_utils.BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
        if head is None:
            if hasattr(backbone, "out_channels"):
                out_channels = backbone.out_channels
            else:
                out_channels = det_utils.retrieve_out_channels(backbone, size)
            if len(out_channels) != len(anchor_generator.aspect_ratios):
                raise ValueError(
                    f"The length of the output channels from the backbone ({len(out_channels)}) "
                    f"do not match the length of the anchor generator aspect ratios "
                    f"({len(anchor_generator.aspect_ratios)})")
            head = SSDHead(out_channels, self.anchor_generator.num_anchors_per_location(),
                           num_classes)
        self.head = head
        self.proposal_matcher = det_utils.SSDMatcher(iou_thresh)
        if image_mean is None:
            image_mean = [0.485, 0.456, 0.406]
        if image_std is None:
            image_std = [0.229, 0.224, 0.225]
        self.transform = GeneralizedRCNNTransform(min(size), max(size), image_mean, image_std,
                                                  size_divisible=1, fixed_size=size, **kwargs)
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.topk_candidates = topk_candidates
        self.neg_to_pos_ratio = (1.0 - positive_fraction) / positive_fraction
        self._has_warned = False

    def eager_outputs(self, losses, detections):
        return losses if self.training else detections

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        bbox_regression = head_outputs["bbox_regression"]
        cls_logits = head_outputs["cls_logits"]
        num_foreground = 0
        bbox_loss, cls_targets = [], []
        for target, regression, logits, anchors_i, matched in zip(
                targets, bbox_regression, cls_logits, anchors, matched_idxs):
            foreground = where(matched >= 0)[0]
            foreground_matched = matched[foreground]
            num_foreground += foreground_matched.numel()
            matched_gt_boxes = target["boxes"][foreground_matched]
            target_regression = self.box_coder.encode_single(matched_gt_boxes,
                                                             anchors_i[foreground, :])
            bbox_loss.append(F.smooth_l1_loss(regression[foreground, :], target_regression,
                                              reduction="sum"))
            gt_classes = zeros((logits.size(0),), dtype=target["labels"].dtype,
                               device=target["labels"].device)
            gt_classes[foreground] = target["labels"][foreground_matched]
            cls_targets.append(gt_classes)
        bbox_loss = stack(bbox_loss)
        cls_targets = stack(cls_targets)
        num_classes = cls_logits.size(-1)
        cls_loss = F.cross_entropy(cls_logits.view(-1, num_classes), cls_targets.view(-1),
                                   reduction="none").view(cls_targets.size())
        # hard negative mining: per image the negatives of highest loss, ranked by a sort
        # (the positives sorted last at -inf)
        foreground_mask = cls_targets > 0
        num_negative = self.neg_to_pos_ratio * foreground_mask.sum(1, keepdim=True)
        negative_loss = cls_loss.clone()
        negative_loss[foreground_mask] = -float("inf")
        _, idx = negative_loss.sort(1, descending=True)
        background_mask = idx.sort(1)[1] < num_negative
        N = max(1, num_foreground)
        return {"bbox_regression": bbox_loss.sum() / N,
                "classification": (cls_loss[foreground_mask].sum() +
                                   cls_loss[background_mask].sum()) / N}

    def forward(self, images, targets=None):
        original_image_sizes, images, targets, features = _single_stage_inputs(
            self, images, targets, with_found=True)
        head_outputs = self.head(features)
        anchors = self.anchor_generator(images, features)
        losses, detections = {}, []
        if self.training:
            matched_idxs = []
            for anchors_i, target in zip(anchors, targets):
                if target["boxes"].numel() == 0:
                    matched_idxs.append(full((anchors_i.size(0),), -1, dtype=int64,
                                             device=anchors_i.device))
                    continue
                matched_idxs.append(self.proposal_matcher(box_ops.box_iou(target["boxes"],
                                                                          anchors_i)))
            losses = self.compute_loss(targets, head_outputs, anchors, matched_idxs)
        else:
            detections = self.postprocess_detections(head_outputs, anchors, images.image_sizes)
            detections = self.transform.postprocess(detections, images.image_sizes,
                                                    original_image_sizes)
        return self.eager_outputs(losses, detections)

    def postprocess_detections(self, head_outputs, image_anchors, image_shapes):
        bbox_regression = head_outputs["bbox_regression"]
        pred_scores = F.softmax(head_outputs["cls_logits"], dim=-1)
        num_classes = pred_scores.size(-1)
        detections = []
        for boxes, scores, anchors, image_shape in zip(bbox_regression, pred_scores,
                                                       image_anchors, image_shapes):
            boxes = box_ops.clip_boxes_to_image(self.box_coder.decode_single(boxes, anchors),
                                                image_shape)
            image_boxes, image_scores, image_labels = [], [], []
            for label in range(1, num_classes):    # (0 is the background)
                score = scores[:, label]
                keep = score > self.score_thresh
                score, box = score[keep], boxes[keep]
                score, idxs = score.topk(det_utils._topk_min(score, self.topk_candidates, 0))
                image_boxes.append(box[idxs])
                image_scores.append(score)
                image_labels.append(full_like(score, fill_value=label, dtype=int64))
            detections.append(_merged_detections(image_boxes, image_scores, image_labels,
                                                 self.nms_thresh, self.detections_per_img))
        return detections


class SSDFeatureExtractorVGG(nn.Module):
    """VGG-16's features as SSD300's six maps (SSD512's seven with ``highres``): conv4_3
    L2-normalised over channels and rescaled by a learnt per-channel ``scale_weight``
    (init 20), then ``extra`` blocks: conv5 + FC6 (3x3, dilation 6) + FC7 (1x1), and
    1x1/3x3 pairs shrinking the map (conv8_2 ... conv11_2 (conv12_2)). The third max-pool
    rounds up (ceil_mode) to give the paper's map sizes."""

    def __init__(self, backbone, highres):
        super().__init__()
        _, _, maxpool3_pos, maxpool4_pos, _ = (i for i, layer in enumerate(backbone)
                                               if isinstance(layer, nn.MaxPool2d))
        backbone[maxpool3_pos].ceil_mode = True
        self.scale_weight = nn.Parameter(ones(512) * 20)
        self.features = nn.Sequential(*backbone[:maxpool4_pos])

        def pair(in_ch, mid, out_ch, **conv):
            return nn.Sequential(nn.Conv2d(in_ch, mid, kernel_size=1), nn.ReLU(inplace=True),
                                 nn.Conv2d(mid, out_ch, **conv), nn.ReLU(inplace=True))

        extra = nn.ModuleList([
            pair(1024, 256, 512, kernel_size=3, padding=1, stride=2),   # conv8_2
            pair(512, 128, 256, kernel_size=3, padding=1, stride=2),    # conv9_2
            pair(256, 128, 256, kernel_size=3),                         # conv10_2
            pair(256, 128, 256, kernel_size=3),                         # conv11_2
        ])
        if highres:
            extra.append(pair(256, 128, 256, kernel_size=4))            # conv12_2 (SSD512)
        _xavier_init(extra)
        fc = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=False),  # pool5
            nn.Conv2d(in_channels=512, out_channels=1024, kernel_size=3, padding=6,
                      dilation=6),                                      # FC6, atrous
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels=1024, out_channels=1024, kernel_size=1),  # FC7
            nn.ReLU(inplace=True),
        )
        _xavier_init(fc)
        # conv5_1 ... conv5_3 (VGG's last max-pool dropped), then FC6/FC7
        extra.insert(0, nn.Sequential(*backbone[maxpool4_pos:-1], fc))
        self.extra = extra

    def forward(self, x):
        x = self.features(x)
        output = [self.scale_weight.view(1, -1, 1, 1) * F.normalize(x)]
        for block in self.extra:
            x = block(x)
            output.append(x)
        return OrderedDict([(str(i), v) for i, v in enumerate(output)])


def _vgg_extractor(backbone, highres, trainable_layers):
    """Freeze VGG's layers before its last ``trainable_layers`` stages (stage boundaries:
    the first layer and the max-pools but the last) and wrap it for SSD."""
    features = backbone.features
    stage_indices = [0] + [i for i, b in enumerate(features) if isinstance(b, nn.MaxPool2d)][:-1]
    num_stages = len(stage_indices)
    if not 0 <= trainable_layers <= num_stages:
        raise AssertionError(f"trainable_layers should be in the range [0, {num_stages}]. "
                             f"Instead got {trainable_layers}")
    freeze_before = len(features) if trainable_layers == 0 else \
        stage_indices[num_stages - trainable_layers]
    for block in features[:freeze_before]:
        for parameter in block.parameters():
            parameter.requires_grad_(False)
    return SSDFeatureExtractorVGG(features, highres)


class SSD300_VGG16_Weights(WeightsEnum):
    COCO_V1 = _coco_weights(
        "https://download.pytorch.org/models/ssd300_vgg16_coco-b556d3b4.pth", 35641826,
        {"box_map": 25.1},
        recipe="https://github.com/pytorch/vision/tree/main/references/detection#ssd300-vgg16",
        _ops=34.858, _file_size=135.988)
    DEFAULT = COCO_V1


def ssd300_vgg16(*, weights=None, progress=True, num_classes=None,
                 weights_backbone=VGG16_Weights.IMAGENET1K_FEATURES,
                 trainable_backbone_layers=None, **kwargs):
    """SSD300 on VGG-16: 300 x 300 inputs, six maps with 4 or 6 default boxes per location
    (scales 0.07 ... 1.05, steps 8 ... 300), and VGG's Caffe-style input scaling (mean
    0.48235, 0.45882, 0.40784, std 1/255). ``trainable_backbone_layers`` in [0, 5]
    (default 4); ``num_classes`` defaults to 91."""
    if "size" in kwargs:
        warnings.warn("The size of the model is already fixed; ignoring the parameter.")
    weights, weights_backbone, num_classes = _detector_weights(
        SSD300_VGG16_Weights, weights, weights_backbone, num_classes, kwargs,
        backbone_enum=VGG16_Weights, legacy_backbone="IMAGENET1K_FEATURES")
    trainable_backbone_layers = _validate_trainable_layers(
        weights is not None or weights_backbone is not None, trainable_backbone_layers, 5, 4)
    backbone = _vgg_extractor(vgg16(weights=weights_backbone, progress=progress), False,
                              trainable_backbone_layers)
    anchor_generator = DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]],
                                           scales=[0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05],
                                           steps=[8, 16, 32, 64, 100, 300])
    defaults = {"image_mean": [0.48235, 0.45882, 0.40784],
                # (undoes ToTensor's division by 255)
                "image_std": [1.0 / 255.0, 1.0 / 255.0, 1.0 / 255.0]}
    model = SSD(backbone, anchor_generator, (300, 300), num_classes, **{**defaults, **kwargs})
    return load_weights(model, weights, progress)
