"""Image, Video, Mask and KeyPoints: TVTensors that say what a tensor holds."""
from ..._tensor import Tensor
from ._tv_tensor import TVTensor, _tree_leaves

__all__ = ["Image", "Video", "Mask", "KeyPoints"]


def _from_pil(data):
    from ..transforms._functional_pil import is_pil_image
    if is_pil_image(data):
        from ..transforms.functional import pil_to_tensor
        return pil_to_tensor(data)
    return data


class Image(TVTensor):
    """An image ``[..., C, H, W]`` (a 2-d input gets a channel axis; a PIL image is
    converted as pil_to_tensor does)."""

    def __new__(cls, data, *, dtype=None, device=None, requires_grad=None):
        tensor = cls._to_tensor(_from_pil(data), dtype=dtype, device=device,
                                requires_grad=requires_grad)
        if tensor.ndim < 2:
            raise ValueError(f"Tensor must be 2D or higher, got {tensor.ndim}D tensor.")
        if tensor.ndim == 2:
            tensor = tensor.unsqueeze(0)
        return tensor.as_subclass(cls)

    def __repr__(self, *, tensor_contents=None):
        return self._make_repr()


class Video(TVTensor):
    """A video ``[..., T, C, H, W]``."""

    def __new__(cls, data, *, dtype=None, device=None, requires_grad=None):
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        if tensor.ndim < 4:
            raise ValueError(f"Video must be 4D or higher, got {tensor.ndim}D tensor.")
        return tensor.as_subclass(cls)

    def __repr__(self, *, tensor_contents=None):
        return self._make_repr()


class Mask(TVTensor):
    """Segmentation masks ``[..., H, W]`` (one per object, or a label map)."""

    def __new__(cls, data, *, dtype=None, device=None, requires_grad=None):
        tensor = cls._to_tensor(_from_pil(data), dtype=dtype, device=device,
                                requires_grad=requires_grad)
        return tensor.as_subclass(cls)


class KeyPoints(TVTensor):
    """Points ``[..., 2]`` as (x, y) on a canvas of ``canvas_size = (height, width)``."""

    @classmethod
    def _wrap(cls, tensor, *, canvas_size, check_dims=True):
        if check_dims:
            if tensor.ndim == 1:
                tensor = tensor.unsqueeze(0)
            elif tensor.shape[-1] != 2:
                raise ValueError(f"Expected a tensor of shape (..., 2), not {tensor.shape}")
        points = tensor.as_subclass(cls)
        points.canvas_size = canvas_size
        return points

    @classmethod
    def wrap(cls, tensor, like, **kwargs):
        return cls._wrap(tensor, canvas_size=kwargs.get("canvas_size", like.canvas_size))

    def __new__(cls, data, *, canvas_size, dtype=None, device=None, requires_grad=None):
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        return cls._wrap(tensor, canvas_size=canvas_size)

    @classmethod
    def _wrap_output(cls, output, args=(), kwargs=None):
        leaves = _tree_leaves(tuple(args) + tuple((kwargs or {}).values()))
        canvas_size = next(x for x in leaves if isinstance(x, KeyPoints)).canvas_size
        if isinstance(output, Tensor) and not isinstance(output, KeyPoints):
            output = KeyPoints._wrap(output, canvas_size=canvas_size, check_dims=False)
        elif isinstance(output, (tuple, list)):
            output = type(output)(KeyPoints._wrap(part, canvas_size=canvas_size,
                                                  check_dims=False) for part in output)
        return output

    def __repr__(self, *, tensor_contents=None):
        return self._make_repr(canvas_size=self.canvas_size)
