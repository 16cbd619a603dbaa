"""RandomErasing, MixUp, CutMix, JPEG."""
import math
import numbers
import warnings
from collections.abc import Sequence

from .... import clamp, empty, exp, log, randint, tensor
from ....nn.functional import one_hot
from ....utils._pytree import tree_flatten, tree_unflatten
from ...._tensor import Tensor
from ... import tv_tensors
from . import functional as F
from ._transform import Transform, _RandomApplyTransform
from ._utils import (_PIL, _check_sequence_input, _parse_labels_getter, has_any, is_pure_tensor,
                     query_chw, query_size)

__all__ = ["RandomErasing", "MixUp", "CutMix", "JPEG"]


class RandomErasing(_RandomApplyTransform):
    """With probability p, erase a random rectangle (area a `scale` fraction of the image,
    aspect ratio log-uniform in `ratio`) with `value` (a number, one per channel, or
    "random": standard normal noise)."""

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0, inplace=False):
        super().__init__(p=p)
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError("Argument value should be either a number or str or a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError("If value is str, it should be 'random'")
        if not isinstance(scale, Sequence):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("Ratio should be a sequence")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("Scale and ratio should be of kind (min, max)")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError("Scale should be between 0 and 1")
        self.scale = scale
        self.ratio = ratio
        if isinstance(value, (int, float)):
            self.value = [float(value)]
        elif isinstance(value, str):
            self.value = None
        else:
            self.value = [float(v) for v in value]
        self.inplace = inplace
        self._log_ratio = log(tensor(self.ratio))

    def _call_kernel(self, functional, inpt, *args, **kwargs):
        if isinstance(inpt, (tv_tensors.BoundingBoxes, tv_tensors.KeyPoints, tv_tensors.Mask)):
            warnings.warn(f"{type(self).__name__}() is currently passing through inputs of type "
                          f"tv_tensors.{type(inpt).__name__}. This will likely change in the "
                          f"future.")
        return super()._call_kernel(functional, inpt, *args, **kwargs)

    def make_params(self, flat_inputs):
        img_c, img_h, img_w = query_chw(flat_inputs)
        if self.value is not None and len(self.value) not in (1, img_c):
            raise ValueError(f"If value is a sequence, it should have either a single value or "
                             f"{img_c} (number of inpt channels)")
        area = img_h * img_w
        for _ in range(10):
            erase_area = area * empty(1).uniform_(self.scale[0], self.scale[1]).item()
            aspect_ratio = exp(empty(1).uniform_(self._log_ratio[0], self._log_ratio[1])).item()
            h = int(round(math.sqrt(erase_area * aspect_ratio)))
            w = int(round(math.sqrt(erase_area / aspect_ratio)))
            if not (h < img_h and w < img_w):
                continue
            if self.value is None:
                from .... import float32
                v = empty([img_c, h, w], dtype=float32).normal_()
            else:
                v = tensor(self.value)[:, None, None]
            i = randint(0, img_h - h + 1, size=(1,)).item()
            j = randint(0, img_w - w + 1, size=(1,)).item()
            break
        else:
            i, j, h, w, v = 0, 0, img_h, img_w, None
        return dict(i=i, j=j, h=h, w=w, v=v)

    def transform(self, inpt, params):
        if params["v"] is not None:
            inpt = self._call_kernel(F.erase, inpt, **params, inplace=self.inplace)
        return inpt


class _BaseMixUpCutMix(Transform):
    def __init__(self, *, alpha=1.0, num_classes=None, labels_getter="default"):
        from ....distributions import Beta
        super().__init__()
        self.alpha = float(alpha)
        self._dist = Beta(tensor([alpha]), tensor([alpha]))
        self.num_classes = num_classes
        self._labels_getter = _parse_labels_getter(labels_getter)

    def forward(self, *inputs):
        inputs = inputs if len(inputs) > 1 else inputs[0]
        flat_inputs, spec = tree_flatten(inputs)
        needs = self._needs_transform_list(flat_inputs)
        if has_any(flat_inputs, _PIL, tv_tensors.BoundingBoxes, tv_tensors.Mask,
                   tv_tensors.KeyPoints):
            raise ValueError(f"{type(self).__name__}() does not support PIL images, bounding "
                             f"boxes, keypoints and masks.")
        labels = self._labels_getter(inputs)
        if not isinstance(labels, Tensor):
            raise ValueError(f"The labels must be a tensor, but got {type(labels)} instead.")
        if labels.ndim not in (1, 2):
            raise ValueError(f"labels should be index based with shape (batch_size,) or "
                             f"probability based with shape (batch_size, num_classes), but got a "
                             f"tensor of shape {labels.shape} instead.")
        if labels.ndim == 2 and self.num_classes is not None and \
                labels.shape[-1] != self.num_classes:
            raise ValueError(f"When passing 2D labels, the number of elements in last dimension "
                             f"must match num_classes: {labels.shape[-1]} != "
                             f"{self.num_classes}. You can Leave num_classes to None.")
        if labels.ndim == 1 and self.num_classes is None:
            raise ValueError("num_classes must be passed if the labels are index-based (1D)")
        params = {"labels": labels, "batch_size": labels.shape[0],
                  **self.make_params([inpt for inpt, n in zip(flat_inputs, needs) if n])}
        needs[next(idx for idx, inpt in enumerate(flat_inputs) if inpt is labels)] = True
        flat_outputs = [self.transform(inpt, params) if n else inpt
                        for inpt, n in zip(flat_inputs, needs)]
        return tree_unflatten(flat_outputs, spec)

    def _check_image_or_video(self, inpt, *, batch_size):
        expected = 5 if isinstance(inpt, tv_tensors.Video) else 4
        if inpt.ndim != expected:
            raise ValueError(f"Expected a batched input with {expected} dims, but got "
                             f"{inpt.ndim} dimensions instead.")
        if inpt.shape[0] != batch_size:
            raise ValueError(f"The batch size of the image or video does not match the batch "
                             f"size of the labels: {inpt.shape[0]} != {batch_size}.")

    def _mixup_label(self, label, *, lam):
        """lam * one_hot(label) + (1 - lam) * (the batch's labels rolled by one)."""
        if label.ndim == 1:
            label = one_hot(label, num_classes=self.num_classes)
        if not label.dtype.is_floating_point:
            label = label.float()
        return label.roll(1, 0).mul_(1.0 - lam).add_(label.mul(lam))

    def _is_image(self, inpt):
        return isinstance(inpt, (tv_tensors.Image, tv_tensors.Video)) or is_pure_tensor(inpt)


class MixUp(_BaseMixUpCutMix):
    """MixUp on a batch: images lam * x + (1 - lam) * x rolled by one along the batch,
    labels likewise (one-hot); lam ~ Beta(alpha, alpha)."""

    def make_params(self, flat_inputs):
        return dict(lam=float(self._dist.sample(())))

    def transform(self, inpt, params):
        lam = params["lam"]
        if inpt is params["labels"]:
            return self._mixup_label(inpt, lam=lam)
        if self._is_image(inpt):
            self._check_image_or_video(inpt, batch_size=params["batch_size"])
            plain = inpt.as_subclass(Tensor)
            output = plain.roll(1, 0).mul_(1.0 - lam).add_(plain.mul(lam))
            return output if is_pure_tensor(inpt) else tv_tensors.wrap(output, like=inpt)
        return inpt


class CutMix(_BaseMixUpCutMix):
    """CutMix on a batch: a random box of each image is pasted from the image before it in
    the batch; labels mixed by the pasted area's fraction; lam ~ Beta(alpha, alpha) sets the
    box's size."""

    def make_params(self, flat_inputs):
        lam = float(self._dist.sample(()))
        H, W = query_size(flat_inputs)
        r_x = randint(W, size=(1,))
        r_y = randint(H, size=(1,))
        r = 0.5 * math.sqrt(1.0 - lam)
        r_w_half = int(r * W)
        r_h_half = int(r * H)
        x1 = int(clamp(r_x - r_w_half, min=0))
        y1 = int(clamp(r_y - r_h_half, min=0))
        x2 = int(clamp(r_x + r_w_half, max=W))
        y2 = int(clamp(r_y + r_h_half, max=H))
        lam_adjusted = float(1.0 - (x2 - x1) * (y2 - y1) / (W * H))
        return dict(box=(x1, y1, x2, y2), lam_adjusted=lam_adjusted)

    def transform(self, inpt, params):
        if inpt is params["labels"]:
            return self._mixup_label(inpt, lam=params["lam_adjusted"])
        if self._is_image(inpt):
            self._check_image_or_video(inpt, batch_size=params["batch_size"])
            x1, y1, x2, y2 = params["box"]
            plain = inpt.as_subclass(Tensor)
            rolled = plain.roll(1, 0)
            output = plain.clone()
            output[..., y1:y2, x1:x2] = rolled[..., y1:y2, x1:x2]
            return output if is_pure_tensor(inpt) else tv_tensors.wrap(output, like=inpt)
        return inpt


class JPEG(Transform):
    """JPEG compression and decompression of the images (uint8 tensors [..., 1 or 3, H, W]
    or PIL images) at a quality drawn uniformly from the integers in [quality[0],
    quality[1]] (one number: that quality); 1 to 100, lower compresses more."""

    def __init__(self, quality):
        super().__init__()
        if isinstance(quality, int):
            if isinstance(quality, bool):
                raise TypeError("quality can't be bool")
            quality = [quality, quality]
        else:
            _check_sequence_input(quality, "quality", req_sizes=(2,))
        if not (isinstance(quality[0], int) and isinstance(quality[1], int)
                and 1 <= quality[0] <= quality[1] <= 100):
            raise ValueError(f"quality must be an integer from 1 to 100, got {quality =}")
        self.quality = quality

    def make_params(self, flat_inputs):
        return dict(quality=randint(self.quality[0], self.quality[1] + 1, ()).item())

    def transform(self, inpt, params):
        return self._call_kernel(F.jpeg, inpt, quality=params["quality"])


def _expose_v1_get_params():
    """RandomErasing.get_params of v1, as torchvision's v2 class exposes it."""
    from .. import transforms as v1
    RandomErasing.get_params = staticmethod(v1.RandomErasing.get_params)


_expose_v1_get_params()
