"""jpeg: the JPEG compression round trip, decode_jpeg(encode_jpeg(image, quality))."""
import io as _pyio

from ....._tensor import Tensor
from .... import tv_tensors
from ._utils import _dispatch, _register, _register_pil

__all__ = ["jpeg", "jpeg_image", "jpeg_video"]


def jpeg(image, quality):
    """The image after JPEG compression at `quality` (1 to 100) and decompression: what a
    network sees of a photo saved as JPEG. Tensors must be uint8, [..., 1 or 3, H, W]."""
    return _dispatch(jpeg, image, quality=quality)


@_register(jpeg, Tensor, tv_tensors.Image, tv_tensors.Video)
def jpeg_image(image, quality):
    from ..... import stack
    from ....io import decode_jpeg, encode_jpeg
    shape = image.shape
    if image.ndim < 3:
        raise RuntimeError(f"jpeg: expected an image of shape [..., 1 or 3, H, W], got shape "
                           f"{tuple(shape)}")
    flat = image.reshape((-1,) + tuple(shape[-3:]))
    if flat.shape[0] == 0:
        return image.clone()
    # encoded and decoded on the host, one image at a time; the result goes back to the
    # image's device
    images = [decode_jpeg(encode_jpeg(flat[i], quality=quality).cpu())
              for i in range(flat.shape[0])]
    return stack(images, dim=0).to(image.device).reshape(shape)


jpeg_video = jpeg_image


@_register_pil(jpeg)
def _jpeg_image_pil(image, quality):
    from PIL import Image
    buffer = _pyio.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    # a plain PIL.Image.Image (not a JpegImageFile), as torchvision returns
    return Image.open(buffer).copy()

