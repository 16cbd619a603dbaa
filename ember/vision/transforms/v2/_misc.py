"""Identity, Lambda, Normalize, GaussianBlur, GaussianNoise, ToDtype, SanitizeBoundingBoxes,
LinearTransformation, and the type and box-format conversions (ToImage, ToPureTensor,
PILToTensor, ToPILImage, ConvertBoundingBoxFormat, ClampBoundingBoxes ...)."""
import warnings

import numpy as np

from .... import dtype as _dtype_cls, empty
from ....utils._pytree import tree_flatten, tree_unflatten
from ...._tensor import Tensor
from ... import tv_tensors
from . import functional as F
from ._transform import Transform
from ._utils import (_PIL, _parse_labels_getter, _setup_number_or_seq, _setup_size,
                     get_bounding_boxes, get_keypoints, has_any, is_pure_tensor)

__all__ = ["Identity", "Lambda", "LinearTransformation", "Normalize", "GaussianBlur",
           "GaussianNoise", "ToDtype", "ConvertImageDtype", "SanitizeBoundingBoxes",
           "SanitizeKeyPoints", "PILToTensor", "ToImage", "ToPILImage", "ToPureTensor",
           "ConvertBoundingBoxFormat", "ClampBoundingBoxes", "ClampKeyPoints",
           "SetClampingMode", "ToTensor", "UniformTemporalSubsample"]


class Identity(Transform):
    """The input unchanged."""

    def transform(self, inpt, params):
        return inpt


class Lambda(Transform):
    """lambd applied to every input of the given types (default: every input)."""

    _transformed_types = (object,)

    def __init__(self, lambd, *types):
        super().__init__()
        self.lambd = lambd
        self.types = types or self._transformed_types

    def transform(self, inpt, params):
        return self.lambd(inpt) if isinstance(inpt, self.types) else inpt

    def extra_repr(self):
        extras = []
        name = getattr(self.lambd, "__name__", None)
        if name:
            extras.append(name)
        extras.append(f"types={[t.__name__ for t in self.types]}")
        return ", ".join(extras)


class LinearTransformation(Transform):
    """(flattened image - mean_vector) @ transformation_matrix, reshaped back (ZCA
    whitening)."""

    _transformed_types = (is_pure_tensor, tv_tensors.Image, tv_tensors.Video)

    def __init__(self, transformation_matrix, mean_vector):
        super().__init__()
        if transformation_matrix.size(0) != transformation_matrix.size(1):
            raise ValueError(f"transformation_matrix should be square. Got "
                             f"{tuple(transformation_matrix.size())} rectangular matrix.")
        if mean_vector.size(0) != transformation_matrix.size(0):
            raise ValueError(f"mean_vector should have the same length {mean_vector.size(0)} as "
                             f"any one of the dimensions of the transformation_matrix "
                             f"[{tuple(transformation_matrix.size())}]")
        if transformation_matrix.device != mean_vector.device:
            raise ValueError(f"Input tensors should be on the same device. Got "
                             f"{transformation_matrix.device} and {mean_vector.device}")
        if transformation_matrix.dtype != mean_vector.dtype:
            raise ValueError(f"Input tensors should have the same dtype. Got "
                             f"{transformation_matrix.dtype} and {mean_vector.dtype}")
        self.transformation_matrix = transformation_matrix
        self.mean_vector = mean_vector

    def check_inputs(self, sample):
        if has_any(sample, _PIL):
            raise TypeError(f"{type(self).__name__}() does not support PIL images.")

    def transform(self, inpt, params):
        shape = inpt.shape
        n = shape[-3] * shape[-2] * shape[-1]
        if n != self.transformation_matrix.shape[0]:
            raise ValueError(f"Input tensor and transformation matrix have incompatible shape."
                             f"[{shape[-3]} x {shape[-2]} x {shape[-1]}] != "
                             f"{self.transformation_matrix.shape[0]}")
        if inpt.device.type != self.mean_vector.device.type:
            raise ValueError(f"Input tensor should be on the same device as transformation "
                             f"matrix and mean vector. Got {inpt.device} vs "
                             f"{self.mean_vector.device}")
        plain = inpt.as_subclass(Tensor).reshape(-1, n) - self.mean_vector
        out = (plain @ self.transformation_matrix.to(plain.dtype)).reshape(shape)
        return out if is_pure_tensor(inpt) else tv_tensors.wrap(out, like=inpt)


class Normalize(Transform):
    """(img - mean) / std per channel (float tensors only)."""

    def __init__(self, mean, std, inplace=False):
        super().__init__()
        self.mean = list(mean)
        self.std = list(std)
        self.inplace = inplace

    def check_inputs(self, sample):
        if has_any(sample, _PIL):
            raise TypeError(f"{type(self).__name__}() does not support PIL images.")

    def transform(self, inpt, params):
        return self._call_kernel(F.normalize, inpt, mean=self.mean, std=self.std,
                                 inplace=self.inplace)


class GaussianBlur(Transform):
    """Gaussian blur with sigma drawn uniformly from `sigma` (min, max)."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        super().__init__()
        self.kernel_size = _setup_size(kernel_size,
                                       "Kernel size should be a tuple/list of two integers")
        for ks in self.kernel_size:
            if ks <= 0 or ks % 2 == 0:
                raise ValueError("Kernel size value should be an odd and positive number.")
        self.sigma = _setup_number_or_seq(sigma, "sigma")
        if not 0.0 < self.sigma[0] <= self.sigma[1]:
            raise ValueError(f"sigma values should be positive and of the form (min, max). Got "
                             f"{self.sigma}")

    def make_params(self, flat_inputs):
        sigma = empty(1).uniform_(self.sigma[0], self.sigma[1]).item()
        return dict(sigma=[sigma, sigma])

    def transform(self, inpt, params):
        return self._call_kernel(F.gaussian_blur, inpt, self.kernel_size, **params)


class GaussianNoise(Transform):
    """Add N(mean, sigma^2) noise (clipped to [0, 1] when clip)."""

    def __init__(self, mean=0.0, sigma=0.1, clip=True):
        super().__init__()
        self.mean = mean
        self.sigma = sigma
        self.clip = clip

    def transform(self, inpt, params):
        return self._call_kernel(F.gaussian_noise, inpt, mean=self.mean, sigma=self.sigma,
                                 clip=self.clip)


class ToDtype(Transform):
    """Cast to `dtype` (a dtype: images and videos only; a dict: per input type, "others"
    for the rest); scale=True rescales image values between the dtypes' ranges."""

    _transformed_types = (Tensor,)

    def __init__(self, dtype, scale=False):
        super().__init__()
        if not isinstance(dtype, (dict, _dtype_cls)):
            raise ValueError(f"dtype must be a dict or a torch.dtype, got {type(dtype)} "
                             f"instead")
        if isinstance(dtype, dict) and Tensor in dtype and \
                any(cls in dtype for cls in (tv_tensors.Image, tv_tensors.Video)):
            warnings.warn("Got `dtype` values for `torch.Tensor` and either `tv_tensors.Image` "
                          "or `tv_tensors.Video`. Note that a plain `torch.Tensor` will *not* "
                          "be transformed by this (or any other transformation) in case a "
                          "`tv_tensors.Image` or `tv_tensors.Video` is present in the input.")
        self.dtype = dtype
        self.scale = scale

    def transform(self, inpt, params):
        if isinstance(self.dtype, _dtype_cls):
            if not is_pure_tensor(inpt) and not isinstance(inpt, (tv_tensors.Image,
                                                                  tv_tensors.Video)):
                return inpt
            dtype = self.dtype
        elif type(inpt) in self.dtype:
            dtype = self.dtype[type(inpt)]
        elif "others" in self.dtype:
            dtype = self.dtype["others"]
        else:
            raise ValueError(f"No dtype was specified for type {type(inpt)}. If you only need "
                             f"to convert the dtype of images or videos, you can just pass e.g. "
                             f"dtype=torch.float32. If you're passing a dict as dtype, you can "
                             f"use \"others\" as a catch-all key e.g. dtype={{tv_tensors.Mask: "
                             f"torch.int64, \"others\": None}} to pass-through the rest of the "
                             f"inputs.")
        supports_scaling = is_pure_tensor(inpt) or isinstance(inpt, (tv_tensors.Image,
                                                                     tv_tensors.Video))
        if dtype is None:
            if self.scale and supports_scaling:
                warnings.warn("scale was set to True but no dtype was specified for images or "
                              "videos: no scaling will be done.")
            return inpt
        return self._call_kernel(F.to_dtype, inpt, dtype=dtype, scale=self.scale)


class ConvertImageDtype(Transform):
    """ToDtype(dtype, scale=True) for images (the v1 name)."""

    _transformed_types = (is_pure_tensor, tv_tensors.Image)

    def __init__(self, dtype=None):
        from .... import float32
        super().__init__()
        self.dtype = float32 if dtype is None else dtype

    def transform(self, inpt, params):
        return self._call_kernel(F.to_dtype, inpt, dtype=self.dtype, scale=True)


class SanitizeBoundingBoxes(Transform):
    """Drop the boxes smaller than min_size (either side) or min_area, or outside the
    canvas, with their labels (found by labels_getter) and masks."""

    def __init__(self, min_size=1.0, min_area=1.0, labels_getter="default"):
        super().__init__()
        if min_size < 1:
            raise ValueError(f"min_size must be >= 1, got {min_size}.")
        self.min_size = min_size
        if min_area < 1:
            raise ValueError(f"min_area must be >= 1, got {min_area}.")
        self.min_area = min_area
        self.labels_getter = labels_getter
        self._labels_getter = _parse_labels_getter(labels_getter)

    def forward(self, *inputs):
        inputs = inputs if len(inputs) > 1 else inputs[0]
        labels = _labels_as_tuple(self._labels_getter(inputs))
        flat_inputs, spec = tree_flatten(inputs)
        boxes = get_bounding_boxes(flat_inputs)
        if labels is not None:
            for label in labels:
                if boxes.shape[0] != label.shape[0]:
                    raise ValueError(f"Number of boxes (shape={boxes.shape}) and must match the "
                                     f"number of labels.Found labels with "
                                     f"shape={label.shape}).")
        _, valid = F.sanitize_bounding_boxes(boxes, min_size=self.min_size,
                                             min_area=self.min_area)
        params = dict(valid=valid, labels=labels)
        flat_outputs = [self.transform(inpt, params) for inpt in flat_inputs]
        return tree_unflatten(flat_outputs, spec)

    def transform(self, inpt, params):
        is_label = params["labels"] is not None and \
            any(inpt is label for label in params["labels"])
        is_boxes = isinstance(inpt, tv_tensors.BoundingBoxes)
        is_mask = isinstance(inpt, tv_tensors.Mask)
        if not (is_label or is_boxes or is_mask):
            return inpt
        try:
            output = inpt.as_subclass(Tensor)[params["valid"]]
        except IndexError:
            return inpt
        return output if is_label else tv_tensors.wrap(output, like=inpt)


class SanitizeKeyPoints(Transform):
    """Drop the key-point instances with a point outside the canvas, with their labels
    (labels_getter: None by default)."""

    def __init__(self, labels_getter=None):
        super().__init__()
        self.labels_getter = labels_getter
        self._labels_getter = _parse_labels_getter(labels_getter)

    def forward(self, *inputs):
        inputs = inputs if len(inputs) > 1 else inputs[0]
        labels = _labels_as_tuple(self._labels_getter(inputs))
        flat_inputs, spec = tree_flatten(inputs)
        points = get_keypoints(flat_inputs)
        if labels is not None:
            for label in labels:
                if points.shape[0] != label.shape[0]:
                    raise ValueError(f"Number of kepyoints (shape={points.shape}) must match the "
                                     f"number of labels.Found labels with "
                                     f"shape={label.shape}).")
        _, valid = F.sanitize_keypoints(points)
        params = dict(valid=valid, labels=labels)
        return tree_unflatten([self.transform(inpt, params) for inpt in flat_inputs], spec)

    def transform(self, inpt, params):
        is_label = params["labels"] is not None and \
            any(inpt is label for label in params["labels"])
        is_points = isinstance(inpt, tv_tensors.KeyPoints)
        if not (is_label or is_points):
            return inpt
        output = inpt.as_subclass(Tensor)[params["valid"]]
        return output if is_label else tv_tensors.wrap(output, like=inpt)


def _labels_as_tuple(labels):
    """The labels found by a labels_getter as a tuple of tensors (None stays None)."""
    if labels is None:
        return None
    msg = "The labels in the input to forward() must be a tensor or None, got {type} instead."
    if isinstance(labels, Tensor):
        return (labels,)
    if isinstance(labels, (tuple, list)):
        for entry in labels:
            if not isinstance(entry, Tensor):
                raise ValueError(msg.format(type=type(entry)))
        return tuple(labels)
    raise ValueError(msg.format(type=type(labels)))


class PILToTensor(Transform):
    """PIL image -> uint8 tensor ``[C, H, W]`` (values unchanged)."""

    _transformed_types = (_PIL,)

    def transform(self, inpt, params):
        return F.pil_to_tensor(inpt)


class ToImage(Transform):
    """Tensor, PIL image or NumPy array -> tv_tensors.Image."""

    _transformed_types = (is_pure_tensor, _PIL, np.ndarray)

    def transform(self, inpt, params):
        return F.to_image(inpt)


class ToPILImage(Transform):
    """Tensor, Image or NumPy array -> PIL image (of `mode`)."""

    _transformed_types = (is_pure_tensor, tv_tensors.Image, np.ndarray)

    def __init__(self, mode=None):
        super().__init__()
        self.mode = mode

    def transform(self, inpt, params):
        if isinstance(inpt, tv_tensors.TVTensor):
            inpt = inpt.as_subclass(Tensor)
        return F.to_pil_image(inpt, mode=self.mode)


class ToPureTensor(Transform):
    """Every TVTensor of the sample as a plain Tensor."""

    _transformed_types = (tv_tensors.TVTensor,)

    def transform(self, inpt, params):
        return inpt.as_subclass(Tensor)


class ConvertBoundingBoxFormat(Transform):
    """BoundingBoxes converted to `format`."""

    _transformed_types = (tv_tensors.BoundingBoxes,)

    def __init__(self, format):
        super().__init__()
        self.format = format

    def transform(self, inpt, params):
        return F.convert_bounding_box_format(inpt, new_format=self.format)


class ClampBoundingBoxes(Transform):
    """BoundingBoxes clamped to their canvas."""

    _transformed_types = (tv_tensors.BoundingBoxes,)

    def __init__(self, clamping_mode="auto"):
        super().__init__()
        self.clamping_mode = clamping_mode

    def transform(self, inpt, params):
        return F.clamp_bounding_boxes(inpt, clamping_mode=self.clamping_mode)


class ClampKeyPoints(Transform):
    """KeyPoints clamped into their canvas."""

    _transformed_types = (tv_tensors.KeyPoints,)

    def transform(self, inpt, params):
        return F.clamp_keypoints(inpt)


class SetClampingMode(Transform):
    """The boxes' clamping_mode set for the transforms that follow."""

    _transformed_types = (tv_tensors.BoundingBoxes,)

    def __init__(self, clamping_mode):
        super().__init__()
        self.clamping_mode = clamping_mode
        if clamping_mode not in (None, "soft", "hard"):
            raise ValueError(f"clamping_mode must be soft, hard or None, got {clamping_mode}")

    def transform(self, inpt, params):
        out = inpt.clone()
        out.clamping_mode = self.clamping_mode
        return out


class ToTensor(Transform):
    """Deprecated: PIL image or NumPy array -> float tensor in [0, 1]."""

    _transformed_types = (_PIL, np.ndarray)

    def __init__(self):
        warnings.warn("The transform `ToTensor()` is deprecated and will be removed in a future "
                      "release. Instead, please use `v2.Compose([v2.ToImage(), "
                      "v2.ToDtype(torch.float32, scale=True)])`.Output is equivalent up to "
                      "float precision.")
        super().__init__()

    def transform(self, inpt, params):
        return F.to_tensor(inpt)


class UniformTemporalSubsample(Transform):
    """num_samples frames of a video, evenly spaced."""

    _transformed_types = (is_pure_tensor, tv_tensors.Video)

    def __init__(self, num_samples):
        super().__init__()
        self.num_samples = num_samples

    def transform(self, inpt, params):
        return F.uniform_temporal_subsample(inpt, self.num_samples)


def _expose_v1_get_params():
    """GaussianBlur.get_params of v1, as torchvision's v2 class exposes it."""
    from .. import transforms as v1
    GaussianBlur.get_params = staticmethod(v1.GaussianBlur.get_params)


_expose_v1_get_params()
