"""MultiScaleRoIAlign: RoI Align over the level of a feature pyramid that suits each box."""
import math

from ... import cat, floor, full_like, log2, nn, sqrt, strided, tensor, where, zeros, clamp
from .boxes import box_area
from .roi_align import roi_align

__all__ = ["MultiScaleRoIAlign"]


class LevelMapper:
    r"""The pyramid level of each box by eq. 1 of the FPN paper:

    .. math:: k = \lfloor k_0 + \log_2(\sqrt{wh} / s_0) + \epsilon \rfloor

    clamped to [k_min, k_max], returned as k - k_min (an index into the levels used);
    s0 = ``canonical_scale`` (224), k0 = ``canonical_level`` (4).
    """

    def __init__(self, k_min, k_max, canonical_scale=224, canonical_level=4, eps=1e-6):
        self.k_min = k_min
        self.k_max = k_max
        self.s0 = canonical_scale
        self.lvl0 = canonical_level
        self.eps = eps

    def __call__(self, boxlists):
        s = sqrt(cat([box_area(boxlist) for boxlist in boxlists]))
        target = floor(self.lvl0 + log2(s / self.s0) + tensor(self.eps, dtype=s.dtype))
        target = clamp(target, min=self.k_min, max=self.k_max)
        return target.long() - self.k_min


def initLevelMapper(k_min, k_max, canonical_scale=224, canonical_level=4, eps=1e-6):
    return LevelMapper(k_min, k_max, canonical_scale, canonical_level, eps)


def _convert_to_roi_format(boxes):
    concat = cat(boxes, dim=0)
    ids = cat([full_like(b[:, :1], i, dtype=concat.dtype, layout=strided, device=concat.device)
               for i, b in enumerate(boxes)], dim=0)
    return cat([ids, concat], dim=1)


def _infer_scale(feature, original_size):
    """The feature map's scale relative to the image, a power of two 2^round(log2(h / H))
    (from the heights)."""
    size = feature.shape[-2:]
    scales = [2 ** float(round(math.log2(float(s1) / float(s2))))
              for s1, s2 in zip(size, original_size)]
    return scales[0]




def _setup_scales(features, image_shapes, canonical_scale, canonical_level):
    if not image_shapes:
        raise ValueError("images list should not be empty")
    original = (max(s[0] for s in image_shapes), max(s[1] for s in image_shapes))
    scales = [_infer_scale(feat, original) for feat in features]
    # float32 log2 as torchvision computes it, then truncated to int
    lvl_min = -math.log2(scales[0])
    lvl_max = -math.log2(scales[-1])
    mapper = initLevelMapper(int(lvl_min), int(lvl_max), canonical_scale=canonical_scale,
                             canonical_level=canonical_level)
    return scales, mapper


def _filter_input(x, featmap_names):
    return [v for k, v in x.items() if k in featmap_names]


def _multiscale_roi_align(x_filtered, boxes, output_size, sampling_ratio, scales, mapper):
    if scales is None or mapper is None:
        raise ValueError("scales and mapper should not be None")
    rois = _convert_to_roi_format(boxes)
    if len(x_filtered) == 1:
        return roi_align(x_filtered[0], rois, output_size=output_size, spatial_scale=scales[0],
                         sampling_ratio=sampling_ratio)
    levels = mapper(boxes)
    first = x_filtered[0]
    result = zeros((len(rois), first.shape[1]) + tuple(output_size), dtype=first.dtype,
                   device=first.device)
    for level, (feature, scale) in enumerate(zip(x_filtered, scales)):
        idx = where(levels == level)[0]
        pooled = roi_align(feature, rois[idx], output_size=output_size, spatial_scale=scale,
                           sampling_ratio=sampling_ratio)
        result[idx] = pooled.to(result.dtype)
    return result


class MultiScaleRoIAlign(nn.Module):
    """RoI Align of boxes (in image coordinates) over a feature pyramid: each box is pooled
    from the level LevelMapper picks for its size, at that level's scale (inferred on the
    first call from the feature and image sizes, powers of two).

    Args:
        featmap_names (List[str]): the names of the feature maps to pool from.
        output_size (int or (int, int)): the size of the pooled regions.
        sampling_ratio (int): as for roi_align.
        canonical_scale, canonical_level: s0 and k0 of LevelMapper.

    forward(x, boxes, image_shapes): x an OrderedDict of feature maps, boxes a list of
    Tensor[L, 4] per image, image_shapes the (height, width) of each image; returns
    Tensor[K, C, PH, PW].
    """

    def __init__(self, featmap_names, output_size, sampling_ratio, *, canonical_scale=224,
                 canonical_level=4):
        super().__init__()
        if isinstance(output_size, int):
            output_size = (output_size, output_size)
        self.featmap_names = featmap_names
        self.sampling_ratio = sampling_ratio
        self.output_size = tuple(output_size)
        self.scales = None
        self.map_levels = None
        self.canonical_scale = canonical_scale
        self.canonical_level = canonical_level

    def forward(self, x, boxes, image_shapes):
        x_filtered = _filter_input(x, self.featmap_names)
        if self.scales is None or self.map_levels is None:
            self.scales, self.map_levels = _setup_scales(
                x_filtered, image_shapes, self.canonical_scale, self.canonical_level)
        return _multiscale_roi_align(x_filtered, boxes, self.output_size, self.sampling_ratio,
                                     self.scales, self.map_levels)

    def __repr__(self):
        return (f"{self.__class__.__name__}(featmap_names={self.featmap_names}, "
                f"output_size={self.output_size}, sampling_ratio={self.sampling_ratio})")
