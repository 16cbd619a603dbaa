"""GeneralizedRCNNTransform: normalize, resize and batch the images (and their targets)
before a detector, and map its detections back to the original image sizes."""
import math

from .... import as_tensor, empty, float32, nn, stack, tensor
from ....nn import functional as F
from .image_list import ImageList
from .roi_heads import paste_masks_in_image

__all__ = ["GeneralizedRCNNTransform", "resize_boxes"]


def _resize_image_and_masks(image, self_min_size, self_max_size, target=None, fixed_size=None):
    """Bilinear resize so that the short side is ``self_min_size`` unless the long side
    would pass ``self_max_size`` (or to ``fixed_size`` (w, h)); masks follow (nearest)."""
    size = scale_factor = recompute = None
    if fixed_size is not None:
        size = [fixed_size[1], fixed_size[0]]
    else:
        im_shape = image.shape[-2:]
        scale_factor = min(self_min_size / min(im_shape), self_max_size / max(im_shape))
        recompute = True
    image = F.interpolate(image[None], size=size, scale_factor=scale_factor, mode="bilinear",
                          recompute_scale_factor=recompute, align_corners=False)[0]
    if target is not None and "masks" in target:
        mask = target["masks"]
        mask = F.interpolate(mask[:, None].float(), size=size, scale_factor=scale_factor,
                             recompute_scale_factor=recompute)[:, 0].byte()
        target["masks"] = mask
    return image, target


class GeneralizedRCNNTransform(nn.Module):
    """(image - mean) / std per channel, resize (a random ``min_size`` while training, the
    last one in eval), zero-pad the batch to a multiple of ``size_divisible``; targets'
    boxes (and masks) are resized alike. postprocess maps boxes and masks back."""

    def __init__(self, min_size, max_size, image_mean, image_std, size_divisible=32,
                 fixed_size=None, **kwargs):
        super().__init__()
        if not isinstance(min_size, (list, tuple)):
            min_size = (min_size,)
        self.min_size = min_size
        self.max_size = max_size
        self.image_mean = image_mean
        self.image_std = image_std
        self.size_divisible = size_divisible
        self.fixed_size = fixed_size
        self._skip_resize = kwargs.pop("_skip_resize", False)

    def forward(self, images, targets=None):
        images = list(images)
        if targets is not None:
            targets = [dict(t) for t in targets]
        for i in range(len(images)):
            image = images[i]
            target = targets[i] if targets is not None else None
            if image.dim() != 3:
                raise ValueError(f"images is expected to be a list of 3d tensors of shape "
                                 f"[C, H, W], got {image.shape}")
            image = self.normalize(image)
            image, target = self.resize(image, target)
            images[i] = image
            if targets is not None and target is not None:
                targets[i] = target
        image_sizes = [tuple(img.shape[-2:]) for img in images]
        batched = self.batch_images(images, size_divisible=self.size_divisible)
        return ImageList(batched, [(int(h), int(w)) for h, w in image_sizes]), targets

    def normalize(self, image):
        if not image.is_floating_point():
            raise TypeError(f"Expected input images to be of floating type (in range [0, 1]), "
                            f"but found type {image.dtype} instead")
        mean = as_tensor(self.image_mean, dtype=image.dtype, device=image.device)
        std = as_tensor(self.image_std, dtype=image.dtype, device=image.device)
        return (image - mean[:, None, None]) / std[:, None, None]

    def torch_choice(self, k):
        """A random element of k, drawn as torchvision draws it (one uniform_ sample)."""
        index = int(empty(1).uniform_(0.0, float(len(k))).item())
        return k[index]

    def resize(self, image, target=None):
        h, w = image.shape[-2:]
        if self.training:
            if self._skip_resize:
                return image, target
            size = self.torch_choice(self.min_size)
        else:
            size = self.min_size[-1]
        image, target = _resize_image_and_masks(image, size, self.max_size, target,
                                                self.fixed_size)
        if target is None:
            return image, target
        target["boxes"] = resize_boxes(target["boxes"], (h, w), image.shape[-2:])
        if "keypoints" in target:
            target["keypoints"] = resize_keypoints(target["keypoints"], (h, w),
                                                   image.shape[-2:])
        return image, target

    def max_by_axis(self, the_list):
        maxes = list(the_list[0])
        for sublist in the_list[1:]:
            for index, item in enumerate(sublist):
                maxes[index] = max(maxes[index], item)
        return maxes

    def batch_images(self, images, size_divisible=32):
        max_size = self.max_by_axis([list(img.shape) for img in images])
        stride = float(size_divisible)
        max_size[1] = int(math.ceil(float(max_size[1]) / stride) * stride)
        max_size[2] = int(math.ceil(float(max_size[2]) / stride) * stride)
        batched = images[0].new_full([len(images)] + max_size, 0)
        for i, img in enumerate(images):
            batched[i, :img.shape[0], :img.shape[1], :img.shape[2]].copy_(img)
        return batched

    def postprocess(self, result, image_shapes, original_image_sizes):
        if self.training:
            return result
        for i, (pred, im_s, o_im_s) in enumerate(zip(result, image_shapes,
                                                     original_image_sizes)):
            boxes = resize_boxes(pred["boxes"], im_s, o_im_s)
            result[i]["boxes"] = boxes
            if "masks" in pred:
                result[i]["masks"] = paste_masks_in_image(pred["masks"], boxes, o_im_s)
            if "keypoints" in pred:
                result[i]["keypoints"] = resize_keypoints(pred["keypoints"], im_s, o_im_s)
        return result

    def __repr__(self):
        indent = "\n    "
        return (f"{self.__class__.__name__}({indent}Normalize(mean={self.image_mean}, "
                f"std={self.image_std}){indent}Resize(min_size={self.min_size}, "
                f"max_size={self.max_size}, mode='bilinear')\n)")


def _ratios(new_size, original_size, device):
    return [tensor(s, dtype=float32, device=device) / tensor(s_orig, dtype=float32,
                                                             device=device)
            for s, s_orig in zip(new_size, original_size)]


def resize_boxes(boxes, original_size, new_size):
    """Boxes (K, 4) scaled from an image of original_size (h, w) to new_size."""
    ratio_h, ratio_w = _ratios(new_size, original_size, boxes.device)
    xmin, ymin, xmax, ymax = boxes.unbind(1)
    return stack((xmin * ratio_w, ymin * ratio_h, xmax * ratio_w, ymax * ratio_h), dim=1)


def resize_keypoints(keypoints, original_size, new_size):
    ratio_h, ratio_w = _ratios(new_size, original_size, keypoints.device)
    out = keypoints.clone()
    out[..., 0] *= ratio_w
    out[..., 1] *= ratio_h
    return out
