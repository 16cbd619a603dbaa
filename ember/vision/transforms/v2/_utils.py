"""Helpers of the v2 transforms: argument checks, and queries over a sample's flattened
inputs (which one is the image, its size, its boxes)."""
import collections.abc
import numbers


from ... import tv_tensors
from .functional import get_dimensions, get_size, is_pure_tensor
from .functional._utils import PILImage

__all__ = ["check_type", "has_any", "has_all", "query_chw", "query_size",
           "get_bounding_boxes", "get_keypoints"]


def _is_pil(obj):
    return PILImage is not None and isinstance(obj, PILImage)


def check_type(obj, types_or_checks):
    """Whether obj is an instance of one of the types, or passes one of the checks."""
    for t in types_or_checks:
        if t is _PIL:
            if _is_pil(obj):
                return True
        elif isinstance(t, type):
            if isinstance(obj, t):
                return True
        elif t(obj):
            return True
    return False


# stands for PIL.Image.Image in type tuples (Pillow is optional)
_PIL = object()


def has_any(flat_inputs, *types_or_checks):
    return any(check_type(inpt, types_or_checks) for inpt in flat_inputs)


def has_all(flat_inputs, *types_or_checks):
    return all(any(check_type(inpt, (t,)) for inpt in flat_inputs) for t in types_or_checks)


def _sequence_to_str(seq, separate_last=""):
    if not seq:
        return ""
    if len(seq) == 1:
        return f"'{seq[0]}'"
    head = "'" + "', '".join([str(item) for item in seq[:-1]]) + "'"
    tail = f"{'' if separate_last and len(seq) == 2 else ','} {separate_last}'{seq[-1]}'"
    return head + tail


def query_chw(flat_inputs):
    """(channels, height, width) of the images/videos of the sample (they must agree)."""
    chws = {tuple(get_dimensions(inpt)) for inpt in flat_inputs
            if check_type(inpt, (is_pure_tensor, tv_tensors.Image, _PIL, tv_tensors.Video))}
    if not chws:
        raise TypeError("No image or video was found in the sample")
    if len(chws) > 1:
        raise ValueError(f"Found multiple CxHxW dimensions in the sample: "
                         f"{_sequence_to_str(sorted(chws))}")
    return chws.pop()


def query_size(flat_inputs):
    """(height, width) shared by the sample's images, videos, masks, boxes' canvases."""
    sizes = {tuple(get_size(inpt)) for inpt in flat_inputs
             if check_type(inpt, (is_pure_tensor, tv_tensors.Image, _PIL, tv_tensors.Video,
                                  tv_tensors.Mask, tv_tensors.BoundingBoxes,
                                  tv_tensors.KeyPoints))}
    if not sizes:
        raise TypeError("No image, video, mask, bounding box of keypoint was found in the "
                        "sample")
    if len(sizes) > 1:
        raise ValueError(f"Found multiple HxW dimensions in the sample: "
                         f"{_sequence_to_str(sorted(sizes))}")
    return sizes.pop()


def get_bounding_boxes(flat_inputs):
    """The (one) BoundingBoxes of the sample."""
    try:
        return next(inpt for inpt in flat_inputs if isinstance(inpt, tv_tensors.BoundingBoxes))
    except StopIteration:
        raise ValueError("No bounding boxes were found in the sample") from None


def get_keypoints(flat_inputs):
    try:
        return next(inpt for inpt in flat_inputs if isinstance(inpt, tv_tensors.KeyPoints))
    except StopIteration:
        raise ValueError("No keypoints were found in the sample") from None


def _setup_number_or_seq(arg, name):
    if not isinstance(arg, (int, float, collections.abc.Sequence)):
        raise TypeError(f"{name} should be a number or a sequence of numbers. Got {type(arg)}")
    if isinstance(arg, collections.abc.Sequence):
        if len(arg) not in (1, 2):
            raise ValueError(f"If {name} is a sequence its length should be 1 or 2. Got "
                             f"{len(arg)}")
        for element in arg:
            if not isinstance(element, (int, float)):
                raise ValueError(f"{name} should be a sequence of numbers. Got {type(element)}")
        return [float(arg[0]), float(arg[-1])]
    return [float(arg), float(arg)]


def _check_fill_arg(fill):
    if isinstance(fill, dict):
        for value in fill.values():
            _check_fill_arg(value)
    elif fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg, only Numbers, tuples, lists and dicts are "
                        "allowed.")


def _convert_fill_arg(fill):
    if fill is None or isinstance(fill, (int, float)):
        return fill
    return [float(v) for v in fill]


def _setup_fill_arg(fill):
    """{input type (or "others"): fill}."""
    _check_fill_arg(fill)
    if isinstance(fill, dict):
        for k, v in fill.items():
            fill[k] = _convert_fill_arg(v)
        return fill
    return {"others": _convert_fill_arg(fill)}


def _get_fill(fill_dict, inpt_type):
    if inpt_type in fill_dict:
        return fill_dict[inpt_type]
    return fill_dict.get("others")


def _check_padding_arg(padding):
    msg = f"Padding must be an int or a 1, 2, or 4 element of tuple or list, got {padding}."
    if isinstance(padding, (tuple, list)):
        if len(padding) not in (1, 2, 4) or not all(isinstance(p, int) for p in padding):
            raise ValueError(msg)
    elif not isinstance(padding, int):
        raise ValueError(msg)


def _check_padding_mode_arg(padding_mode):
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")


def _check_sequence_input(x, name, req_sizes):
    msg = req_sizes[0] if len(req_sizes) < 2 else " or ".join([str(s) for s in req_sizes])
    if not isinstance(x, collections.abc.Sequence):
        raise TypeError(f"{name} should be a sequence of length {msg}.")
    if len(x) not in req_sizes:
        raise ValueError(f"{name} should be a sequence of length {msg}.")


def _setup_size(size, error_msg):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, collections.abc.Sequence) and len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(error_msg)
    return size[0], size[1]


def _find_labels_default_heuristic(inputs):
    """The labels of a sample: the second item of a (img, labels) pair, or the value under
    the key "labels" (any case), else the first key containing "label"."""
    if isinstance(inputs, (tuple, list)):
        inputs = inputs[1]
    if is_pure_tensor(inputs):
        return inputs
    if not isinstance(inputs, collections.abc.Mapping):
        raise ValueError(f"When using the default labels_getter, the input passed to forward "
                         f"must be a dictionary or a two-tuple whose second item is a "
                         f"dictionary or a tensor, but got {inputs} instead.")
    key = next((k for k in inputs.keys() if k.lower() == "labels"), None)
    if key is None:
        key = next((k for k in inputs.keys() if "label" in k.lower()), None)
    if key is None:
        raise ValueError("Could not infer where the labels are in the sample. Try passing a "
                         "callable as the labels_getter parameter?If there are no labels in the "
                         "sample by design, pass labels_getter=None.")
    return inputs[key]


def _parse_labels_getter(labels_getter):
    if labels_getter == "default":
        return _find_labels_default_heuristic
    if callable(labels_getter):
        return labels_getter
    if labels_getter is None:
        return lambda _: None
    raise ValueError(f"labels_getter should either be 'default', a callable, or None, but got "
                     f"{labels_getter}.")



